package interop

import (
	"testing"

	pb "storefront/gen/storefrontv1"
)

// importProducts streams each product to ImportProducts and answers the summary.
func importProducts(t *testing.T, stream []*pb.Product) *pb.ImportProductsResponse {
	t.Helper()
	call, err := products().ImportProducts(callContext(t))
	if err != nil {
		t.Fatalf("ImportProducts: %v", err)
	}
	for _, product := range stream {
		if err := call.Send(&pb.ImportProductsRequest{Product: product}); err != nil {
			break // CloseAndRecv says why.
		}
	}
	response, err := call.CloseAndRecv()
	if err != nil {
		t.Fatalf("ImportProducts: %v", err)
	}
	return response
}

func TestImportCreatesThenARerunLeavesUnchanged(t *testing.T) {
	category := unique("go-import")
	var stream []*pb.Product
	for i := 0; i < 600; i++ { // more than one batch of 500
		stream = append(stream, sampleProduct(category))
	}
	first := importProducts(t, stream)
	if first.Created != 600 || first.Updated != 0 || first.Unchanged != 0 || first.Failed != 0 {
		t.Fatalf("the first import answered %v, want 600 created", first)
	}
	stream[0].PriceCents = 1
	second := importProducts(t, stream)
	if second.Created != 0 || second.Updated != 1 || second.Unchanged != 599 || second.Failed != 0 {
		t.Fatalf("the rerun answered %v, want 1 updated and 599 unchanged", second)
	}
	if listed := listIDs(t, &pb.ProductRequest{Category: category}); len(listed) != 600 {
		t.Fatalf("the category lists %d products, want 600", len(listed))
	}
}

func TestImportListsInvalidProductsAndGoesOn(t *testing.T) {
	category := unique("go-import")
	good := sampleProduct(category)
	noName := sampleProduct(category)
	noName.Name = ""
	negative := sampleProduct(category)
	negative.PriceCents = -5
	last := sampleProduct(category)
	response := importProducts(t, []*pb.Product{good, noName, negative, last})
	if response.Created != 2 || response.Failed != 2 || len(response.Failures) != 2 {
		t.Fatalf("ImportProducts answered %v, want 2 created and 2 failed", response)
	}
	want := []struct {
		position int64
		sku      string
		field    string
	}{{1, noName.Sku, "product.name"}, {2, negative.Sku, "product.price_cents"}}
	for i, failure := range response.Failures {
		if failure.Position != want[i].position || failure.Sku != want[i].sku || failure.Field != want[i].field || failure.Reason == "" {
			t.Fatalf("failure %d is %v, want %+v with a reason", i, failure, want[i])
		}
	}
}

func TestImportOfNothingAnswersZeros(t *testing.T) {
	response := importProducts(t, nil)
	if response.Created+response.Updated+response.Unchanged+response.Failed != 0 || len(response.Failures) != 0 {
		t.Fatalf("an empty import answered %v", response)
	}
}
