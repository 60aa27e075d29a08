package interop

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"testing"

	pb "storefront/gen/storefrontv1"
)

const (
	// listingsBackToBack whole-catalogue listings open the long transfers, as in issue 14.
	listingsBackToBack = 2
	// pingTarget is how many pings the client must have sent by the end: well past the 200
	// control frames in 30 s that swift-nio-http2 lets a peer send by default.
	pingTarget = 250
	// maxDownloads bounds the downloads that push the client's pings to pingTarget (here, on the
	// debug build, a 16 MiB download in the server's 64 KiB chunks took about 0.5 s and drew
	// 11-32 BDP pings from grpc-go).
	maxDownloads = 40
)

// A stock grpc-go client pings while it receives data (BDP estimation, on by default). The
// server must take those pings, as grpc-go, grpc-java and C core servers do, and not cut the
// connection with GOAWAY ENHANCE_YOUR_CALM, failing the calls in flight with UNAVAILABLE
// (issue 14, item 1). On one connection: a 64 MiB upload, downloads of it until the client has
// sent pingTarget pings, then whole-catalogue listings back to back.
func TestLongTransfersOnOneConnectionAreNotCutOffForPinging(t *testing.T) {
	var wire wireRecord
	client := pb.NewProductServiceClient(dialT(t, shared.address(), wire.dialOption(), withToken(adminToken(t))))
	failure := longTransfers(t, client, &wire)
	connections, pings, acks, goAways := wire.snapshot()
	if failure == nil && len(goAways) > 0 {
		failure = fmt.Errorf("every call ended well, but the server sent %v", goAways)
	}
	if failure == nil && connections != 1 {
		failure = fmt.Errorf("the client opened %d connections, want 1", connections)
	}
	if failure == nil && (pings < pingTarget || acks == 0) {
		// Without the pings this test would prove nothing: it is about grpc-go's BDP pings.
		t.Fatalf("the client sent %d pings (%d acked) in %d downloads, want %d: the test did not ping enough",
			pings, acks, maxDownloads, pingTarget)
	}
	cutOff := false
	for _, g := range goAways {
		cutOff = cutOff || g.errorCode == http2EnhanceYourCalm
	}
	expectUnlessKnown(t, bdpPingCutoff, failure, cutOff)
	if failure == nil {
		t.Logf("%d listings, 64 MiB up and down on one connection: %d pings sent, %d acked, no GOAWAY", listingsBackToBack, pings, acks)
	}
}

// longTransfers runs the transfers and returns the first that failed, with what the wire showed.
func longTransfers(t *testing.T, client pb.ProductServiceClient, wire *wireRecord) error {
	failed := func(what string, err error) error {
		_, pings, _, goAways := wire.snapshot()
		return fmt.Errorf("%s failed after the client sent %d pings (%d PING and SETTINGS frames): %v (the server sent %v)",
			what, pings, wire.controlFramesSent(), err, goAways)
	}
	product := createProduct(t, nil)
	big := pngImage(64<<20, 8)
	response, err := upload(t, client, product.Id, 1<<20, big)
	if err != nil {
		return failed("the 64 MiB upload", err)
	}
	// The image's last 16 MiB in the server's default chunks: grpc-go pings about once a
	// round trip while they arrive, without its window estimate reaching the 16 MiB at which
	// it stops.
	tail := &pb.DownloadProductImageRequest{ImageId: response.Images[0].ImageId, Offset: int64(len(big.data) - 16<<20)}
	for downloads := 0; downloads < maxDownloads; downloads++ {
		if _, pings, _, _ := wire.snapshot(); pings >= pingTarget {
			break
		}
		_, data, err := download(t, client, tail)
		if err == nil && !bytes.Equal(data, big.data[tail.Offset:]) {
			err = fmt.Errorf("%d bytes, not the image's last %d", len(data), 16<<20)
		}
		if err != nil {
			return failed(fmt.Sprintf("download %d", downloads+1), err)
		}
	}
	for listing := 1; listing <= listingsBackToBack; listing++ {
		count, err := countListing(callContext(t), client, &pb.ProductRequest{})
		if err == nil && count < demoCatalogSize {
			err = fmt.Errorf("%d products, want at least %d", count, demoCatalogSize)
		}
		if err != nil {
			return failed(fmt.Sprintf("listing %d", listing), err)
		}
	}
	return nil
}

// countListing reads a ListProducts stream to its end and counts the products.
func countListing(ctx context.Context, client pb.ProductServiceClient, request *pb.ProductRequest) (int, error) {
	stream, err := client.ListProducts(ctx, request)
	if err != nil {
		return 0, err
	}
	count := 0
	for {
		_, err := stream.Recv()
		if err == io.EOF {
			return count, nil
		}
		if err != nil {
			return count, err
		}
		count++
	}
}
