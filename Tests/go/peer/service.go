package main

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	pb "storefront/gen/storefrontv1"
)

// productService answers storefront.v1.ProductService from memory exactly as
// Sources/storefront-baseline/BaselineService.swift does, so that the bench compares the two
// frameworks on the same work: no store, no validation, no interceptors, every answer built
// once at start with the size of a real one. Chat and the change feed live in memory.
type productService struct {
	pb.UnimplementedProductServiceServer
	// catalogueSize is how many products a ListProducts with page_size 0 streams.
	catalogueSize int
	// rooms are the chat rooms, one group each.
	rooms *fanOut[*pb.ChatMessage]
	// changes is the change feed: one group, which UpdateProduct publishes to and
	// WatchProducts reads.
	changes *fanOut[*pb.ProductChange]
}

func newProductService(catalogueSize int) *productService {
	return &productService{
		catalogueSize: catalogueSize,
		rooms:         newFanOut[*pb.ChatMessage](),
		changes:       newFanOut[*pb.ProductChange](),
	}
}

// sampleProduct has the size of a demo-catalogue product: the baseline's, field for field.
var sampleProduct = &pb.Product{
	Id:          "p_01JBASELINE0000000000000042",
	Sku:         "DEMO-KIT-42",
	Name:        "Handmade Knife Set #42",
	Description: "Handmade knife set in charcoal, from our kitchen range.",
	Category:    "kitchen",
	PriceCents:  12399,
	Currency:    "USD",
	Stock:       321,
	CreateTime:  &timestamppb.Timestamp{Seconds: 1764000000, Nanos: 123456000},
	UpdateTime:  &timestamppb.Timestamp{Seconds: 1764000000, Nanos: 123456000},
	Etag:        "3a81007485e6751f",
}

var sampleResponse = &pb.ProductResponse{Product: sampleProduct}

// noStore is what the baseline answers for the writes it cannot do.
var noStore = status.Error(codes.Unimplemented, "the baseline has no store")

func (s *productService) GetProduct(context.Context, *pb.ProductRequest) (*pb.ProductResponse, error) {
	return sampleResponse, nil
}

func (s *productService) ListProducts(request *pb.ProductRequest, stream pb.ProductService_ListProductsServer) error {
	count := s.catalogueSize
	if request.PageSize > 0 {
		count = int(request.PageSize)
	}
	for i := 0; i < count; i++ {
		if err := stream.Send(sampleResponse); err != nil {
			return err
		}
	}
	return nil
}

// UploadProductImages counts the chunks' bytes and answers one image named by that size,
// which DownloadProductImage reads back.
func (s *productService) UploadProductImages(stream pb.ProductService_UploadProductImagesServer) error {
	var total int64
	for {
		message, err := stream.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		total += int64(len(message.GetChunk()))
	}
	return stream.SendAndClose(&pb.UploadResponse{
		TotalBytes: total,
		Images:     []*pb.UploadedImage{{ImageId: fmt.Sprintf("img_%d", total), SizeBytes: total}},
	})
}

// Chat: a member's first message joins a room; every later one goes to every member of that
// room, the sender included, with the room's next sequence.
func (s *productService) Chat(stream pb.ProductService_ChatServer) error {
	join, err := stream.Recv()
	if err == io.EOF {
		return nil
	}
	if err != nil {
		return err
	}
	subscription := s.rooms.subscribe(join.Room)
	// Headers at once, as grpc-swift sends them when a handler starts: the bench's members wait
	// for them before anyone speaks.
	if err := stream.SendHeader(metadata.MD{}); err != nil {
		subscription.finish()
		return err
	}
	written := make(chan error, 1)
	go func() { written <- sendAll(subscription.messages, stream.Send) }()
	var readErr error
	for {
		message, err := stream.Recv()
		if err != nil {
			if err != io.EOF {
				readErr = err
			}
			break
		}
		s.rooms.publish(join.Room, func(sequence int64) *pb.ChatMessage {
			relayed := proto.Clone(message).(*pb.ChatMessage)
			relayed.Sequence = sequence
			return relayed
		})
	}
	// The writer sends what is queued, then stops: the stream must not be used after return.
	subscription.finish()
	writeErr := <-written
	if readErr != nil {
		return readErr
	}
	return writeErr
}

func (s *productService) CreateProduct(context.Context, *pb.CreateProductRequest) (*pb.ProductResponse, error) {
	return nil, noStore
}

// UpdateProduct answers the sample product with the request's id and description (what the
// bench's watch scenario writes) and publishes it to every open WatchProducts stream.
func (s *productService) UpdateProduct(_ context.Context, request *pb.UpdateProductRequest) (*pb.ProductResponse, error) {
	product := proto.Clone(sampleProduct).(*pb.Product)
	product.Id = request.GetProduct().GetId()
	product.Description = request.GetProduct().GetDescription()
	changeTime := timestamppb.New(time.Now())
	s.changes.publish("", func(sequence int64) *pb.ProductChange {
		return &pb.ProductChange{Sequence: sequence, Kind: pb.ProductChange_UPDATED, Product: product, ChangeTime: changeTime}
	})
	return &pb.ProductResponse{Product: product}, nil
}

func (s *productService) DeleteProduct(context.Context, *pb.DeleteProductRequest) (*pb.DeleteProductResponse, error) {
	return nil, noStore
}

// WatchProducts streams every change published after it starts, until the client cancels.
func (s *productService) WatchProducts(_ *pb.WatchProductsRequest, stream pb.ProductService_WatchProductsServer) error {
	subscription := s.changes.subscribe("")
	defer subscription.finish()
	// Headers at once, as grpc-swift sends them: the bench's writers start once every watcher
	// has its headers.
	if err := stream.SendHeader(metadata.MD{}); err != nil {
		return err
	}
	done := stream.Context().Done()
	for {
		select {
		case change := <-subscription.messages:
			if err := stream.Send(change); err != nil {
				return err
			}
		case <-done:
			return status.FromContextError(stream.Context().Err()).Err()
		}
	}
}

// DownloadProductImage streams chunk_size (64 KiB by default) chunks of zeros up to the size
// that the image id names in bytes ("img_1048576"), after a metadata message.
func (s *productService) DownloadProductImage(request *pb.DownloadProductImageRequest, stream pb.ProductService_DownloadProductImageServer) error {
	size := int64(1 << 20)
	if parts := strings.Split(request.ImageId, "_"); len(parts) > 0 {
		if parsed, err := strconv.ParseInt(parts[len(parts)-1], 10, 64); err == nil {
			size = parsed
		}
	}
	chunkSize := int64(64 * 1024)
	if request.ChunkSize > 0 {
		chunkSize = int64(request.ChunkSize)
	}
	metadata := &pb.DownloadProductImageResponse{Data: &pb.DownloadProductImageResponse_Metadata{
		Metadata: &pb.UploadedImage{ImageId: request.ImageId, SizeBytes: size},
	}}
	if err := stream.Send(metadata); err != nil {
		return err
	}
	chunk := &pb.DownloadProductImageResponse{Data: &pb.DownloadProductImageResponse_Chunk{Chunk: make([]byte, chunkSize)}}
	for sent := request.Offset; sent < size; sent += chunkSize {
		message := chunk
		if size-sent < chunkSize {
			message = &pb.DownloadProductImageResponse{Data: &pb.DownloadProductImageResponse_Chunk{Chunk: make([]byte, size-sent)}}
		}
		if err := stream.Send(message); err != nil {
			return err
		}
	}
	return nil
}

// ImportProducts counts the products and answers them all as created.
func (s *productService) ImportProducts(stream pb.ProductService_ImportProductsServer) error {
	var count int64
	for {
		_, err := stream.Recv()
		if err == io.EOF {
			return stream.SendAndClose(&pb.ImportProductsResponse{Created: count})
		}
		if err != nil {
			return err
		}
		count++
	}
}

// sendAll sends each message until messages is closed or a send fails.
func sendAll[Message any](messages <-chan Message, send func(Message) error) error {
	for message := range messages {
		if err := send(message); err != nil {
			return err
		}
	}
	return nil
}
