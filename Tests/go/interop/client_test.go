package interop

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"

	pb "storefront/gen/storefrontv1"
)

// rpcTimeout is the deadline of every call that sets none of its own, so that a stuck server
// fails the test instead of hanging it.
const rpcTimeout = 20 * time.Second

// dial opens a plaintext connection to address. grpc-go connects lazily; the first call waits
// for the connection.
func dial(address string, options ...grpc.DialOption) (*grpc.ClientConn, error) {
	options = append([]grpc.DialOption{grpc.WithInsecure()}, options...)
	return grpc.Dial(address, options...)
}

// dialT is dial for a test: the connection closes when the test ends.
func dialT(t *testing.T, address string, options ...grpc.DialOption) *grpc.ClientConn {
	t.Helper()
	conn, err := dial(address, options...)
	if err != nil {
		t.Fatalf("dial %s: %v", address, err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// bearerToken sends `authorization: Bearer <token>` on every call of a connection.
type bearerToken string

func (b bearerToken) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + string(b)}, nil
}

func (bearerToken) RequireTransportSecurity() bool { return false }

var _ credentials.PerRPCCredentials = bearerToken("")

func withToken(token string) grpc.DialOption {
	return grpc.WithPerRPCCredentials(bearerToken(token))
}

// login signs in with AuthService.Login and returns the access token.
func login(conn *grpc.ClientConn, username, password string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), rpcTimeout)
	defer cancel()
	response, err := pb.NewAuthServiceClient(conn).Login(ctx, &pb.LoginRequest{Username: username, Password: password})
	if err != nil {
		return "", err
	}
	return response.AccessToken, nil
}

// callContext is a context with rpcTimeout, cancelled when the test ends.
func callContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), rpcTimeout)
	t.Cleanup(cancel)
	return ctx
}

// products is the ProductService of the shared server, signed in as its admin.
func products() pb.ProductServiceClient {
	return pb.NewProductServiceClient(shared.admin)
}

// expectCode fails the test unless err is a status with code.
func expectCode(t *testing.T, err error, code codes.Code, what string) *status.Status {
	t.Helper()
	got, ok := status.FromError(err)
	if err == nil || !ok || got.Code() != code {
		t.Fatalf("%s: want %v, got %v", what, code, err)
	}
	return got
}

// expectInvalidField fails the test unless err is INVALID_ARGUMENT whose google.rpc.BadRequest
// details name field among their violations.
func expectInvalidField(t *testing.T, err error, field, what string) {
	t.Helper()
	got := expectCode(t, err, codes.InvalidArgument, what)
	named := badRequestFields(got)
	for _, name := range named {
		if name == field {
			return
		}
	}
	t.Fatalf("%s: want a field violation of %q in the details, got %q (%v)", what, field, named, err)
}

// badRequestFields are the fields named by the google.rpc.BadRequest details of s.
func badRequestFields(s *status.Status) []string {
	var fields []string
	for _, detail := range s.Details() {
		if badRequest, ok := detail.(*errdetails.BadRequest); ok {
			for _, violation := range badRequest.FieldViolations {
				fields = append(fields, violation.Field)
			}
		}
	}
	return fields
}

// unique is a name no other test uses: prefix, then random hex.
func unique(prefix string) string {
	random := make([]byte, 8)
	if _, err := rand.Read(random); err != nil {
		panic(err)
	}
	return prefix + "-" + hex.EncodeToString(random)
}

// sampleProduct is a valid product for CreateProduct in category.
func sampleProduct(category string) *pb.Product {
	return &pb.Product{
		Sku:         unique("go"),
		Name:        "Go test product",
		Description: "Made by the grpc-go interop suite.",
		Category:    category,
		PriceCents:  1999,
		Currency:    "USD",
		Stock:       5,
	}
}

// createProduct creates a valid product (fields changed by edit) and returns it.
func createProduct(t *testing.T, edit func(*pb.Product)) *pb.Product {
	t.Helper()
	product := sampleProduct(unique("go-category"))
	if edit != nil {
		edit(product)
	}
	response, err := products().CreateProduct(callContext(t), &pb.CreateProductRequest{Product: product})
	if err != nil {
		t.Fatalf("CreateProduct: %v", err)
	}
	return response.Product
}
