package interop

import (
	"context"
	"io"
	"testing"

	pb "storefront/gen/storefrontv1"
)

// listingsBackToBack is how many whole-catalogue listings go one after another on one
// connection: enough for grpc-go's BDP estimator to send its pings many times over (the stock
// transport's ping policy cut the connection within the first two).
const listingsBackToBack = 4

// A stock grpc-go client pings while it receives data (BDP estimation, on by default); the
// server must take those pings, not answer them with GOAWAY ENHANCE_YOUR_CALM "too_many_pings"
// and fail the calls in flight with UNAVAILABLE (issue 14, item 1).
func TestListingsBackToBackOnOneConnectionAreNotCutOffForPinging(t *testing.T) {
	var wire wireRecord
	client := pb.NewProductServiceClient(dialT(t, shared.address(), wire.dialOption()))
	for listing := 1; listing <= listingsBackToBack; listing++ {
		count, err := countListing(callContext(t), client, &pb.ProductRequest{})
		if err != nil {
			_, pings, _, goAways := wire.snapshot()
			t.Fatalf("listing %d failed after %d products: %v (the client had sent %d pings; the server sent %v)",
				listing, count, err, pings, goAways)
		}
		if count < demoCatalogSize {
			t.Fatalf("listing %d streamed %d products, want at least %d", listing, count, demoCatalogSize)
		}
	}
	connections, pings, acks, goAways := wire.snapshot()
	if len(goAways) != 0 {
		t.Errorf("the server sent %v", goAways)
	}
	if connections != 1 {
		t.Errorf("the client opened %d connections, want 1", connections)
	}
	// Without pings this test would prove nothing: it is about grpc-go's BDP pings.
	if pings == 0 || acks == 0 {
		t.Errorf("the client sent %d pings and got %d acks: grpc-go's BDP estimator did not run", pings, acks)
	}
	t.Logf("%d listings of %d+ products on one connection: %d pings sent, %d acked, no GOAWAY",
		listingsBackToBack, demoCatalogSize, pings, acks)
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
