package interop

import (
	"context"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	pb "storefront/gen/storefrontv1"
)

func TestLoginAnswersABearerTokenWithTheRoleAndExpiry(t *testing.T) {
	if _, err := shared.tokenFor("go-staff", "staff"); err != nil {
		t.Fatal(err)
	}
	response, err := pb.NewAuthServiceClient(shared.anonymous).Login(callContext(t),
		&pb.LoginRequest{Username: "go-staff", Password: testPassword})
	if err != nil {
		t.Fatalf("Login: %v", err)
	}
	if response.AccessToken == "" || response.TokenType != "Bearer" || response.Role != "staff" ||
		!response.ExpireTime.AsTime().After(time.Now()) {
		t.Fatalf("Login answered %v", response)
	}
	staff := pb.NewProductServiceClient(dialT(t, shared.address(), withToken(response.AccessToken)))
	if _, err := staff.CreateProduct(callContext(t), &pb.CreateProductRequest{Product: sampleProduct("go-staff")}); err != nil {
		t.Fatalf("CreateProduct with the staff token: %v", err)
	}
}

func TestLoginErrors(t *testing.T) {
	if _, err := shared.tokenFor("go-known", "shopper"); err != nil {
		t.Fatal(err)
	}
	auth := pb.NewAuthServiceClient(shared.anonymous)
	for _, credentials := range []*pb.LoginRequest{
		{Username: "go-known", Password: "wrong password"},
		{Username: "go-nobody", Password: testPassword},
	} {
		_, err := auth.Login(callContext(t), credentials)
		got := expectCode(t, err, codes.Unauthenticated, "Login as "+credentials.Username)
		if got.Message() != "wrong username or password" {
			t.Fatalf("Login as %s said %q: it must not say which part was wrong", credentials.Username, got.Message())
		}
	}
	_, err := auth.Login(callContext(t), &pb.LoginRequest{Password: testPassword})
	expectInvalidField(t, err, "username", "Login without a username")
}

func TestUserManagementNeedsAnAdmin(t *testing.T) {
	staffToken, err := shared.tokenFor("go-staff", "staff")
	if err != nil {
		t.Fatal(err)
	}
	request := &pb.CreateUserRequest{Username: unique("go-made"), Role: "shopper", Password: "a long password"}
	staff := pb.NewUserServiceClient(dialT(t, shared.address(), withToken(staffToken)))
	_, err = staff.CreateUser(callContext(t), request)
	expectCode(t, err, codes.PermissionDenied, "CreateUser as staff")

	admin := pb.NewUserServiceClient(shared.admin)
	created, err := admin.CreateUser(callContext(t), request)
	if err != nil || created.User.Role != "shopper" || !created.User.Enabled {
		t.Fatalf("CreateUser as admin: %v %v", created, err)
	}
	_, err = admin.CreateUser(callContext(t), request)
	expectCode(t, err, codes.AlreadyExists, "CreateUser of a taken username")
	_, err = admin.CreateUser(callContext(t), &pb.CreateUserRequest{Username: "Has Capitals", Role: "shopper", Password: "a long password"})
	expectInvalidField(t, err, "username", "CreateUser with a bad username")
	_, err = admin.CreateUser(callContext(t), &pb.CreateUserRequest{Username: unique("go-role"), Role: "owner", Password: "a long password"})
	expectInvalidField(t, err, "role", "CreateUser with an unknown role")

	listed, err := admin.ListUsers(callContext(t), &pb.ListUsersRequest{})
	if err != nil || !hasUser(listed.GetUsers(), request.Username) || !hasUser(listed.GetUsers(), adminUsername) {
		t.Fatalf("ListUsers: %v %v", listed, err)
	}
	if _, err := login(shared.anonymous, request.Username, request.Password); err != nil {
		t.Fatalf("the new user cannot sign in: %v", err)
	}
	disabled, err := admin.DisableUser(callContext(t), &pb.DisableUserRequest{Username: request.Username})
	if err != nil || disabled.User.Enabled {
		t.Fatalf("DisableUser: %v %v", disabled, err)
	}
	_, err = login(shared.anonymous, request.Username, request.Password)
	expectCode(t, err, codes.Unauthenticated, "Login of a disabled user")
	_, err = admin.DisableUser(callContext(t), &pb.DisableUserRequest{Username: unique("go-nobody")})
	expectCode(t, err, codes.NotFound, "DisableUser of an unknown user")
}

func TestAnonymousCallersReadButMayNotChat(t *testing.T) {
	product := createProduct(t, nil)
	anonymous := pb.NewProductServiceClient(shared.anonymous)
	if _, err := anonymous.GetProduct(callContext(t), &pb.ProductRequest{Id: product.Id}); err != nil {
		t.Fatalf("an anonymous GetProduct: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), rpcTimeout)
	defer cancel()
	chat, err := anonymous.Chat(ctx)
	if err == nil {
		_ = chat.Send(&pb.ChatMessage{Kind: pb.ChatMessage_JOIN, Room: product.Id})
		_, err = chat.Recv()
	}
	expectCode(t, err, codes.Unauthenticated, "an anonymous Chat")
}

func hasUser(users []*pb.User, username string) bool {
	for _, user := range users {
		if user.Username == username {
			return true
		}
	}
	return false
}
