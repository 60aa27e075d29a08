package interop

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	pb "storefront/gen/storefrontv1"
)

// watchStream is a live WatchProducts stream whose context the test cancels when it ends.
type watchStream struct {
	pb.ProductService_WatchProductsClient
	cancel context.CancelFunc
}

func startWatch(t *testing.T, request *pb.WatchProductsRequest) *watchStream {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), rpcTimeout)
	t.Cleanup(cancel)
	stream, err := products().WatchProducts(ctx, request)
	if err != nil {
		t.Fatalf("WatchProducts: %v", err)
	}
	return &watchStream{ProductService_WatchProductsClient: stream, cancel: cancel}
}

// head is the x-change-sequence header: the change log's head the stream starts after.
func (w *watchStream) head(t *testing.T) int64 {
	t.Helper()
	header, err := w.Header()
	if err != nil || len(header.Get("x-change-sequence")) != 1 {
		t.Fatalf("no x-change-sequence header (%v): %v", err, header)
	}
	head, err := strconv.ParseInt(header.Get("x-change-sequence")[0], 10, 64)
	if err != nil {
		t.Fatalf("x-change-sequence: %v", err)
	}
	return head
}

// take reads the next count changes as kind and product id.
func (w *watchStream) take(t *testing.T, count int) (seen []string, sequences []int64) {
	t.Helper()
	for len(seen) < count {
		change, err := w.Recv()
		if err != nil {
			t.Fatalf("the watch failed after %v: %v", seen, err)
		}
		seen = append(seen, fmt.Sprintf("%v %s", change.Kind, change.Product.Id))
		sequences = append(sequences, change.Sequence)
	}
	return seen, sequences
}

func TestWatchShowsEachWriteOnceInCommitOrderAndResumes(t *testing.T) {
	category := unique("go-watch")
	watch := startWatch(t, &pb.WatchProductsRequest{Category: category})
	head := watch.head(t)
	first := createProduct(t, func(p *pb.Product) { p.Category = category })
	if _, err := products().UpdateProduct(callContext(t), &pb.UpdateProductRequest{
		Product: &pb.Product{Id: first.Id, Stock: 42}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"stock"}},
	}); err != nil {
		t.Fatalf("UpdateProduct: %v", err)
	}
	if _, err := products().DeleteProduct(callContext(t), &pb.DeleteProductRequest{Id: first.Id}); err != nil {
		t.Fatalf("DeleteProduct: %v", err)
	}
	want := fmt.Sprint([]string{"CREATED " + first.Id, "UPDATED " + first.Id, "DELETED " + first.Id})
	seen, sequences := watch.take(t, 3)
	if fmt.Sprint(seen) != want || !(head < sequences[0] && sequences[0] < sequences[1] && sequences[1] < sequences[2]) {
		t.Fatalf("the watch showed %v at %v (head %d), want %s in increasing order", seen, sequences, head, want)
	}

	since := sequences[0]
	resumed := startWatch(t, &pb.WatchProductsRequest{Category: category, SinceSequence: &since})
	again, _ := resumed.take(t, 2)
	if fmt.Sprint(again) != fmt.Sprint(seen[1:]) {
		t.Fatalf("resuming after %d showed %v, want %v", since, again, seen[1:])
	}
}

func TestWatchErrors(t *testing.T) {
	tooMany := make([]string, 101)
	for i := range tooMany {
		tooMany[i] = fmt.Sprintf("p_%03d", i)
	}
	negative := int64(-1)
	head := startWatch(t, &pb.WatchProductsRequest{Ids: []string{unknownID}}).head(t)
	pastTheHead := head + 1_000_000
	cases := []struct {
		name    string
		request *pb.WatchProductsRequest
		code    codes.Code
		field   string
	}{
		{"101 ids", &pb.WatchProductsRequest{Ids: tooMany}, codes.InvalidArgument, "ids"},
		{"negative since_sequence", &pb.WatchProductsRequest{SinceSequence: &negative}, codes.InvalidArgument, "since_sequence"},
		{"since_sequence past the head", &pb.WatchProductsRequest{SinceSequence: &pastTheHead}, codes.OutOfRange, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := startWatch(t, c.request).Recv()
			if c.field != "" {
				expectInvalidField(t, err, c.field, "WatchProducts")
			} else {
				expectCode(t, err, c.code, "WatchProducts")
			}
		})
	}
}

// A watch with nothing to show waits until its deadline: then it ends DEADLINE_EXCEEDED, and
// the server lets go of it.
func TestAnIdleWatchEndsAtItsDeadline(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	stream, err := products().WatchProducts(ctx, &pb.WatchProductsRequest{Category: unique("go-idle")})
	if err == nil {
		_, err = stream.Recv()
	}
	expectCode(t, err, codes.DeadlineExceeded, "an idle WatchProducts")
	deadline := time.Now().Add(pollTimeout)
	for {
		inFlight, _ := rpcCounts(t, "WatchProducts", "deadlineExceeded")
		if inFlight == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%v WatchProducts still in flight %v after their deadline", inFlight, pollTimeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestCancellingAWatchFreesItOnTheServer(t *testing.T) {
	_, cancelledBefore := rpcCounts(t, "WatchProducts", "cancelled")
	watch := startWatch(t, &pb.WatchProductsRequest{Category: unique("go-cancel")})
	watch.head(t) // the server has taken the call
	watch.cancel()
	_, err := watch.Recv()
	expectCode(t, err, codes.Canceled, "Recv after cancel")
	expectRPCFreed(t, "WatchProducts", "cancelled", cancelledBefore)
}
