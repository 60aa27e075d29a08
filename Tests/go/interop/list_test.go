package interop

import (
	"context"
	"fmt"
	"io"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	pb "storefront/gen/storefrontv1"
)

// smallCatalogue makes count products in a category of their own, priced 0, 100, 200, ...
// cents, every third named "Blue Gizmo"; it returns the category and their ids in id order.
func smallCatalogue(t *testing.T, count int) (string, []string) {
	t.Helper()
	category := unique("go-list")
	var ids []string
	for index := 0; index < count; index++ {
		product := createProduct(t, func(p *pb.Product) {
			p.Category = category
			p.PriceCents = int64(100 * index)
			if index%3 == 0 {
				p.Name = fmt.Sprintf("Blue Gizmo %d", index)
			}
		})
		ids = append(ids, product.Id)
	}
	sort.Strings(ids)
	return category, ids
}

// listIDs lists with request to the end and returns the ids in the order they came.
func listIDs(t *testing.T, request *pb.ProductRequest) []string {
	t.Helper()
	stream, err := products().ListProducts(callContext(t), request)
	if err != nil {
		t.Fatalf("ListProducts: %v", err)
	}
	var ids []string
	for {
		response, err := stream.Recv()
		if err != nil && expectEnd(t, err) {
			return ids
		}
		ids = append(ids, response.Product.Id)
	}
}

func TestListFiltersAndResumesInIDOrder(t *testing.T) {
	category, ids := smallCatalogue(t, 12)
	low, high := int64(300), int64(800)
	cases := []struct {
		name    string
		request *pb.ProductRequest
		want    []string
	}{
		{"category, in id order", &pb.ProductRequest{Category: category}, ids},
		{"page size", &pb.ProductRequest{Category: category, PageSize: 5}, ids[:5]},
		{"after id", &pb.ProductRequest{Category: category, AfterId: ids[6]}, ids[7:]},
		{"price bounds", &pb.ProductRequest{Category: category, MinPriceCents: &low, MaxPriceCents: &high}, nil},
		{"query, any case", &pb.ProductRequest{Category: category, Query: "gIzMo"}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := listIDs(t, c.request)
			if c.want == nil {
				c.want = expectedIDs(t, c.request)
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Fatalf("listed %v, want %v", got, c.want)
			}
		})
	}
}

// expectedIDs applies a request's price and query filters to its category's products, read
// one by one with GetProduct: what ListProducts must answer.
func expectedIDs(t *testing.T, request *pb.ProductRequest) []string {
	t.Helper()
	var want []string
	for _, id := range listIDs(t, &pb.ProductRequest{Category: request.Category}) {
		response, err := products().GetProduct(callContext(t), &pb.ProductRequest{Id: id})
		if err != nil {
			t.Fatalf("GetProduct: %v", err)
		}
		product := response.Product
		inBounds := (request.MinPriceCents == nil || product.PriceCents >= *request.MinPriceCents) &&
			(request.MaxPriceCents == nil || product.PriceCents <= *request.MaxPriceCents)
		matches := request.Query == "" || containsFold(product.Name, request.Query) || containsFold(product.Description, request.Query)
		if inBounds && matches {
			want = append(want, id)
		}
	}
	if len(want) == 0 {
		t.Fatalf("the filters of %v match nothing: the case tests nothing", request)
	}
	return want
}

func TestListRejectsBadPriceBounds(t *testing.T) {
	low, high, negative := int64(2000), int64(1000), int64(-1)
	stream, err := products().ListProducts(callContext(t), &pb.ProductRequest{MinPriceCents: &low, MaxPriceCents: &high})
	if err == nil {
		_, err = stream.Recv()
	}
	expectCode(t, err, codes.InvalidArgument, "ListProducts with min above max")
	stream, err = products().ListProducts(callContext(t), &pb.ProductRequest{MinPriceCents: &negative})
	if err == nil {
		_, err = stream.Recv()
	}
	expectInvalidField(t, err, "min_price_cents", "ListProducts with a negative minimum")
}

// Cancelling a whole-catalogue listing midway ends it CANCELLED for the client, and the
// server lets go of the call (its in-flight count falls back, it counts a cancelled
// ListProducts), while the connection goes on serving.
func TestCancellingAListingMidStreamFreesItOnTheServer(t *testing.T) {
	_, cancelledBefore := rpcCounts(t, "ListProducts", "cancelled")
	ctx, cancel := context.WithCancel(callContext(t))
	stream, err := products().ListProducts(ctx, &pb.ProductRequest{})
	if err != nil {
		t.Fatalf("ListProducts: %v", err)
	}
	for received := 0; received < 100; received++ {
		if _, err := stream.Recv(); err != nil {
			t.Fatalf("ListProducts failed after %d products: %v", received, err)
		}
	}
	if inFlight, _ := rpcCounts(t, "ListProducts", "cancelled"); inFlight < 1 {
		t.Fatalf("the metrics show %v ListProducts in flight while one streams", inFlight)
	}
	cancel()
	for {
		if _, err = stream.Recv(); err != nil {
			break
		}
	}
	expectCode(t, err, codes.Canceled, "Recv after cancel")
	expectRPCFreed(t, "ListProducts", "cancelled", cancelledBefore)
	if _, err := products().GetProduct(callContext(t), &pb.ProductRequest{Id: createProduct(t, nil).Id}); err != nil {
		t.Fatalf("GetProduct on the same connection after the cancel: %v", err)
	}
}

// A listing whose client reads too slowly for its deadline ends DEADLINE_EXCEEDED, and the
// server stops it too.
func TestAListingPastItsDeadlineEndsDeadlineExceeded(t *testing.T) {
	_, exceededBefore := rpcCounts(t, "ListProducts", "deadlineExceeded")
	_, cancelledBefore := rpcCounts(t, "ListProducts", "cancelled")
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	stream, err := products().ListProducts(ctx, &pb.ProductRequest{})
	received := 0
	for err == nil {
		if _, err = stream.Recv(); err == nil {
			received++
			time.Sleep(time.Millisecond) // 20,000 products take 20 s at this pace
		}
	}
	expectCode(t, err, codes.DeadlineExceeded, fmt.Sprintf("ListProducts after %d products", received))
	// The server sees the deadline pass or the client's reset; either way it must end the call.
	deadline := time.Now().Add(pollTimeout)
	for {
		inFlight, _ := rpcCounts(t, "ListProducts", "deadlineExceeded")
		if inFlight == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%v ListProducts still in flight %v after its deadline", inFlight, pollTimeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
	_, exceededAfter := rpcCounts(t, "ListProducts", "deadlineExceeded")
	_, cancelledAfter := rpcCounts(t, "ListProducts", "cancelled")
	if exceededAfter <= exceededBefore && cancelledAfter <= cancelledBefore {
		t.Fatalf("the server counted no ListProducts ending DEADLINE_EXCEEDED or CANCELLED")
	}
}

// expectEnd is true when err ends a stream well (io.EOF) and fails the test otherwise.
func expectEnd(t *testing.T, err error) bool {
	t.Helper()
	if err == io.EOF {
		return true
	}
	t.Fatalf("the stream failed: %v", err)
	return false
}

func containsFold(text, part string) bool {
	return strings.Contains(strings.ToLower(text), strings.ToLower(part))
}
