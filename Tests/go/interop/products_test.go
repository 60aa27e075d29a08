package interop

import (
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	pb "storefront/gen/storefrontv1"
)

// unknownID is a well-formed product id that no product has.
const unknownID = "p_00000000000000000000000000"

func TestCreateThenGetAnswersTheStoredProduct(t *testing.T) {
	created := createProduct(t, nil)
	if created.Id == "" || created.Etag == "" || created.CreateTime == nil || created.UpdateTime == nil {
		t.Fatalf("CreateProduct left server-assigned fields empty: %v", created)
	}
	got, err := products().GetProduct(callContext(t), &pb.ProductRequest{Id: created.Id})
	if err != nil {
		t.Fatalf("GetProduct: %v", err)
	}
	if !proto.Equal(got.Product, created) {
		t.Fatalf("GetProduct answered %v, want what CreateProduct answered: %v", got.Product, created)
	}
}

func TestCreateRejectsInvalidFieldsNamingEach(t *testing.T) {
	cases := []struct {
		name  string
		edit  func(*pb.Product)
		field string
	}{
		{"empty name", func(p *pb.Product) { p.Name = "" }, "product.name"},
		{"201-character name", func(p *pb.Product) { p.Name = strings.Repeat("n", 201) }, "product.name"},
		{"sku with a space", func(p *pb.Product) { p.Sku = "has space" }, "product.sku"},
		{"negative price", func(p *pb.Product) { p.PriceCents = -1 }, "product.price_cents"},
		{"lower-case currency", func(p *pb.Product) { p.Currency = "usd" }, "product.currency"},
		{"negative stock", func(p *pb.Product) { p.Stock = -1 }, "product.stock"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			product := sampleProduct("go-invalid")
			c.edit(product)
			_, err := products().CreateProduct(callContext(t), &pb.CreateProductRequest{Product: product})
			expectInvalidField(t, err, c.field, "CreateProduct")
		})
	}
}

func TestCreateWithTwoBadFieldsNamesBoth(t *testing.T) {
	product := sampleProduct("go-invalid")
	product.Name, product.PriceCents = "", -5
	_, err := products().CreateProduct(callContext(t), &pb.CreateProductRequest{Product: product})
	expectInvalidField(t, err, "product.name", "CreateProduct")
	expectInvalidField(t, err, "product.price_cents", "CreateProduct")
}

func TestCreateWithATakenSkuAlreadyExists(t *testing.T) {
	first := createProduct(t, nil)
	second := sampleProduct("go-duplicate")
	second.Sku = first.Sku
	_, err := products().CreateProduct(callContext(t), &pb.CreateProductRequest{Product: second})
	expectCode(t, err, codes.AlreadyExists, "CreateProduct of a taken sku")
}

func TestWritesNeedASignedInStaffMember(t *testing.T) {
	_, err := pb.NewProductServiceClient(shared.anonymous).CreateProduct(callContext(t),
		&pb.CreateProductRequest{Product: sampleProduct("go-anonymous")})
	expectCode(t, err, codes.Unauthenticated, "CreateProduct without a token")

	token, err := shared.tokenFor("go-shopper", "shopper")
	if err != nil {
		t.Fatal(err)
	}
	shopper := pb.NewProductServiceClient(dialT(t, shared.address(), withToken(token)))
	_, err = shopper.CreateProduct(callContext(t), &pb.CreateProductRequest{Product: sampleProduct("go-shopper")})
	expectCode(t, err, codes.PermissionDenied, "CreateProduct as a shopper")

	forged := pb.NewProductServiceClient(dialT(t, shared.address(), withToken("not.a.token")))
	_, err = forged.CreateProduct(callContext(t), &pb.CreateProductRequest{Product: sampleProduct("go-forged")})
	expectCode(t, err, codes.Unauthenticated, "CreateProduct with a malformed token")
}

func TestGetAnswersInvalidArgumentForNoIDAndNotFoundForAnUnknownOne(t *testing.T) {
	_, err := products().GetProduct(callContext(t), &pb.ProductRequest{})
	expectInvalidField(t, err, "id", "GetProduct without an id")
	_, err = products().GetProduct(callContext(t), &pb.ProductRequest{Id: unknownID})
	expectCode(t, err, codes.NotFound, "GetProduct of an unknown id")
}

func TestUpdateWithAMaskChangesOnlyThatField(t *testing.T) {
	original := createProduct(t, nil)
	patch := &pb.Product{Id: original.Id, Etag: original.Etag, PriceCents: 4242}
	response, err := products().UpdateProduct(callContext(t), &pb.UpdateProductRequest{
		Product: patch, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"price_cents"}},
	})
	if err != nil {
		t.Fatalf("UpdateProduct: %v", err)
	}
	updated := response.Product
	if updated.PriceCents != 4242 || updated.Name != original.Name || updated.Sku != original.Sku || updated.Stock != original.Stock {
		t.Fatalf("the update changed more or less than price_cents: %v, was %v", updated, original)
	}
	if updated.Etag == original.Etag {
		t.Fatalf("the etag did not change: %q", updated.Etag)
	}
}

func TestUpdateErrors(t *testing.T) {
	original := createProduct(t, nil)
	taken := createProduct(t, nil)
	mask := func(paths ...string) *fieldmaskpb.FieldMask { return &fieldmaskpb.FieldMask{Paths: paths} }
	if _, err := products().UpdateProduct(callContext(t), &pb.UpdateProductRequest{
		Product: &pb.Product{Id: original.Id, Stock: 9}, UpdateMask: mask("stock"),
	}); err != nil {
		t.Fatalf("UpdateProduct: %v", err)
	}
	cases := []struct {
		name    string
		request *pb.UpdateProductRequest
		code    codes.Code
		field   string
	}{
		{"stale etag", &pb.UpdateProductRequest{Product: &pb.Product{Id: original.Id, Etag: original.Etag, Stock: 1}, UpdateMask: mask("stock")}, codes.Aborted, ""},
		{"unknown mask path", &pb.UpdateProductRequest{Product: &pb.Product{Id: original.Id}, UpdateMask: mask("bogus")}, codes.InvalidArgument, "update_mask"},
		{"invalid value", &pb.UpdateProductRequest{Product: &pb.Product{Id: original.Id, PriceCents: -1}, UpdateMask: mask("price_cents")}, codes.InvalidArgument, "product.price_cents"},
		{"taken sku", &pb.UpdateProductRequest{Product: &pb.Product{Id: original.Id, Sku: taken.Sku}, UpdateMask: mask("sku")}, codes.AlreadyExists, ""},
		{"unknown product", &pb.UpdateProductRequest{Product: &pb.Product{Id: unknownID, Stock: 1}, UpdateMask: mask("stock")}, codes.NotFound, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := products().UpdateProduct(callContext(t), c.request)
			if c.field != "" {
				expectInvalidField(t, err, c.field, "UpdateProduct")
			} else {
				expectCode(t, err, c.code, "UpdateProduct")
			}
		})
	}
}

func TestDeleteWithTheCurrentEtagRemovesTheProduct(t *testing.T) {
	product := createProduct(t, nil)
	_, err := products().DeleteProduct(callContext(t), &pb.DeleteProductRequest{Id: product.Id, Etag: "stale0000000000"})
	expectCode(t, err, codes.Aborted, "DeleteProduct with a stale etag")
	if _, err := products().DeleteProduct(callContext(t), &pb.DeleteProductRequest{Id: product.Id, Etag: product.Etag}); err != nil {
		t.Fatalf("DeleteProduct: %v", err)
	}
	_, err = products().GetProduct(callContext(t), &pb.ProductRequest{Id: product.Id})
	expectCode(t, err, codes.NotFound, "GetProduct of a deleted product")
	_, err = products().DeleteProduct(callContext(t), &pb.DeleteProductRequest{Id: product.Id})
	expectCode(t, err, codes.NotFound, "DeleteProduct of a deleted product")
	_, err = products().DeleteProduct(callContext(t), &pb.DeleteProductRequest{})
	expectInvalidField(t, err, "id", "DeleteProduct without an id")
}
