// Command storefront-go-peer is the bench's grpc-go column: `storefront-go-peer [--port N]
// [--catalogue N]` serves storefront.v1.ProductService from memory on 127.0.0.1, as
// storefront-baseline does on grpc-swift-2, with grpc-go's default server settings but a fixed
// window (see below), and prints
// "go peer listening on 127.0.0.1:PORT" once it does.
package main

import (
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"syscall"

	"google.golang.org/grpc"

	pb "storefront/gen/storefrontv1"
)

func main() {
	port := flag.Int("port", 0, "the port to listen on (0: a free one)")
	catalogue := flag.Int("catalogue", 100000, "how many products a whole-catalogue listing streams")
	flag.Parse()

	listener, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", *port))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	// grpc-go's defaults but one: a fixed 1 MiB window (Storefront's), which turns off its BDP
	// estimation. That estimator pings the client whenever data arrives, one ping per call
	// even for a download's request, and grpc-swift's client, which the bench runs on, closes a
	// connection after 200 pings in 30 s (swift-nio-http2's default DoS limit), failing the
	// calls on it with UNAVAILABLE "Stream unexpectedly closed" (46 of the upload scenario's
	// calls and 179 of the download's in one run with the defaults; none with this).
	server := grpc.NewServer(grpc.InitialWindowSize(1<<20), grpc.InitialConnWindowSize(1<<20))
	pb.RegisterProductServiceServer(server, newProductService(*catalogue))

	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		<-signals
		server.Stop()
	}()
	// os.Stdout is not buffered: scripts waiting for this line see it at once.
	fmt.Printf("go peer listening on %s\n", listener.Addr())
	if err := server.Serve(listener); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
