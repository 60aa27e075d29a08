package interop

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"math/rand"
	"testing"

	"google.golang.org/grpc/codes"

	pb "storefront/gen/storefrontv1"
)

// pngSignature starts every PNG: the server checks an image's leading bytes against its type.
var pngSignature = []byte{0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'}

// unknownImageID is a well-formed image id that no image has.
const unknownImageID = "img_00000000000000000000000000"

// image is one image of an upload: what the client sends and vouches for.
type image struct {
	filename, contentType, sha256 string
	data                          []byte
}

// pngImage is a PNG signature and size-8 seeded random bytes, with its true SHA-256.
func pngImage(size int, seed int64) image {
	data := append([]byte(nil), pngSignature...)
	random := make([]byte, size-len(pngSignature))
	rand.New(rand.NewSource(seed)).Read(random)
	data = append(data, random...)
	return image{filename: "photo.png", contentType: "image/png", sha256: sha256Hex(data), data: data}
}

func sha256Hex(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// upload sends each image (metadata, then chunks of chunkSize) on one stream and answers
// what the server answered.
func upload(t *testing.T, client pb.ProductServiceClient, productID string, chunkSize int, images ...image) (*pb.UploadResponse, error) {
	t.Helper()
	stream, err := client.UploadProductImages(callContext(t))
	if err != nil {
		return nil, err
	}
	for _, img := range images {
		metadata := &pb.ImageMetadata{ProductId: productID, Filename: img.filename, ContentType: img.contentType, Sha256: img.sha256}
		if err := stream.Send(&pb.ImageRequest{Data: &pb.ImageRequest_Metadata{Metadata: metadata}}); err != nil {
			break // The server answered early; CloseAndRecv says how.
		}
		if err := sendChunks(stream, img.data, chunkSize); err != nil {
			break
		}
	}
	return stream.CloseAndRecv()
}

func sendChunks(stream pb.ProductService_UploadProductImagesClient, data []byte, chunkSize int) error {
	for offset := 0; offset < len(data); offset += chunkSize {
		end := offset + chunkSize
		if end > len(data) {
			end = len(data)
		}
		if err := stream.Send(&pb.ImageRequest{Data: &pb.ImageRequest_Chunk{Chunk: data[offset:end]}}); err != nil {
			return err
		}
	}
	return nil
}

// download reads an image's stream: its metadata and the bytes of its chunks.
func download(t *testing.T, client pb.ProductServiceClient, request *pb.DownloadProductImageRequest) (*pb.UploadedImage, []byte, error) {
	t.Helper()
	stream, err := client.DownloadProductImage(callContext(t), request)
	if err != nil {
		return nil, nil, err
	}
	var metadata *pb.UploadedImage
	var data bytes.Buffer
	for {
		response, err := stream.Recv()
		if err == io.EOF {
			return metadata, data.Bytes(), nil
		}
		if err != nil {
			return metadata, data.Bytes(), err
		}
		if m := response.GetMetadata(); m != nil {
			if metadata != nil || data.Len() > 0 {
				t.Fatalf("a second metadata message, or one after chunks: %v", m)
			}
			metadata = m
		} else {
			data.Write(response.GetChunk())
		}
	}
}

func TestUploadTwoImagesThenDownloadEachByteForByte(t *testing.T) {
	product := createProduct(t, nil)
	png := pngImage(70_000, 1)
	gif := image{filename: "anim.gif", contentType: "image/gif", data: append([]byte("GIF89a"), make([]byte, 3000)...)}
	response, err := upload(t, products(), product.Id, 16*1024, png, gif)
	if err != nil {
		t.Fatalf("UploadProductImages: %v", err)
	}
	if len(response.Images) != 2 || response.TotalBytes != int64(len(png.data)+len(gif.data)) {
		t.Fatalf("UploadProductImages answered %v", response)
	}
	for i, img := range []image{png, gif} {
		uploaded := response.Images[i]
		if uploaded.ProductId != product.Id || uploaded.ContentType != img.contentType ||
			uploaded.SizeBytes != int64(len(img.data)) || uploaded.Sha256 != sha256Hex(img.data) {
			t.Fatalf("image %d recorded as %v", i, uploaded)
		}
		metadata, data, err := download(t, products(), &pb.DownloadProductImageRequest{ImageId: uploaded.ImageId, ChunkSize: 4096})
		if err != nil {
			t.Fatalf("DownloadProductImage: %v", err)
		}
		if metadata.GetImageId() != uploaded.ImageId || !bytes.Equal(data, img.data) {
			t.Fatalf("image %d came back as %v and %d bytes, want %d bytes as uploaded", i, metadata, len(data), len(img.data))
		}
	}
	got, err := products().GetProduct(callContext(t), &pb.ProductRequest{Id: product.Id})
	if err != nil || len(got.Product.ImageIds) != 2 {
		t.Fatalf("GetProduct after the upload: %v %v", got, err)
	}
	_, rest, err := download(t, products(), &pb.DownloadProductImageRequest{ImageId: response.Images[0].ImageId, Offset: 1000})
	if err != nil || !bytes.Equal(rest, png.data[1000:]) {
		t.Fatalf("a download from offset 1000 sent %d bytes (%v), want the last %d", len(rest), err, len(png.data)-1000)
	}
}

func TestUploadErrorsNameTheFieldAndRecordNothing(t *testing.T) {
	product := createProduct(t, nil)
	text := []byte("This is not an image, just some text.\n")
	cases := []struct {
		name   string
		images []image
		field  string
	}{
		{"text declared a PNG", []image{{filename: "fake.png", contentType: "image/png", data: text}}, "metadata.content_type"},
		{"unsupported type", []image{{filename: "notes.txt", contentType: "text/plain", data: text}}, "metadata.content_type"},
		{"wrong sha256", []image{func() image { i := pngImage(5000, 2); i.sha256 = sha256Hex(text); return i }()}, "metadata.sha256"},
		{"second image wrong", []image{pngImage(5000, 3), func() image { i := pngImage(5000, 4); i.sha256 = sha256Hex(text); return i }()}, "metadata.sha256"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := upload(t, products(), product.Id, 1000, c.images...)
			expectInvalidField(t, err, c.field, "UploadProductImages")
		})
	}

	t.Run("chunk before metadata", func(t *testing.T) {
		stream, err := products().UploadProductImages(callContext(t))
		if err == nil {
			_ = sendChunks(stream, pngSignature, 100)
			_, err = stream.CloseAndRecv()
		}
		expectInvalidField(t, err, "chunk", "UploadProductImages of a chunk first")
	})
	t.Run("unknown product", func(t *testing.T) {
		_, err := upload(t, products(), unknownID, 1000, pngImage(2000, 5))
		expectCode(t, err, codes.NotFound, "UploadProductImages to an unknown product")
	})
	t.Run("more images than a stream may hold", func(t *testing.T) {
		images := make([]image, 17)
		for i := range images {
			images[i] = pngImage(100, int64(10+i))
		}
		_, err := upload(t, products(), product.Id, 1000, images...)
		expectCode(t, err, codes.ResourceExhausted, "UploadProductImages of 17 images")
	})

	got, err := products().GetProduct(callContext(t), &pb.ProductRequest{Id: product.Id})
	if err != nil || len(got.Product.ImageIds) != 0 {
		t.Fatalf("failed uploads left images behind: %v %v", got, err)
	}
}

func TestDownloadErrors(t *testing.T) {
	product := createProduct(t, nil)
	png := pngImage(3000, 6)
	response, err := upload(t, products(), product.Id, 1000, png)
	if err != nil {
		t.Fatalf("UploadProductImages: %v", err)
	}
	id := response.Images[0].ImageId
	cases := []struct {
		name    string
		request *pb.DownloadProductImageRequest
		code    codes.Code
		field   string
	}{
		{"negative offset", &pb.DownloadProductImageRequest{ImageId: id, Offset: -1}, codes.InvalidArgument, "offset"},
		{"chunk size under 1 KiB", &pb.DownloadProductImageRequest{ImageId: id, ChunkSize: 100}, codes.InvalidArgument, "chunk_size"},
		{"no image id", &pb.DownloadProductImageRequest{}, codes.InvalidArgument, "image_id"},
		{"offset past the end", &pb.DownloadProductImageRequest{ImageId: id, Offset: int64(len(png.data) + 1)}, codes.OutOfRange, ""},
		{"unknown image", &pb.DownloadProductImageRequest{ImageId: unknownImageID}, codes.NotFound, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := download(t, products(), c.request)
			if c.field != "" {
				expectInvalidField(t, err, c.field, "DownloadProductImage")
			} else {
				expectCode(t, err, c.code, "DownloadProductImage")
			}
		})
	}
}

// A 64 MiB image goes up and comes back down, byte for byte, on one connection that the server
// never tells to go away. (One download draws some 90 BDP pings from grpc-go, under the 200 in
// 30 s that the stock transport allows; TestLongTransfersOnOneConnectionAreNotCutOffForPinging
// goes past that.)
func TestA64MiBImageGoesUpAndComesBackOnOneConnection(t *testing.T) {
	const size = 64 << 20
	product := createProduct(t, nil)
	var wire wireRecord
	client := pb.NewProductServiceClient(dialT(t, shared.address(), wire.dialOption(), withToken(adminToken(t))))
	big := pngImage(size, 7)
	response, err := upload(t, client, product.Id, 1<<20, big)
	if err != nil {
		_, pings, _, goAways := wire.snapshot()
		t.Fatalf("the 64 MiB upload failed: %v (%d pings sent; the server sent %v)", err, pings, goAways)
	}
	if response.TotalBytes != size || response.Images[0].Sha256 != big.sha256 {
		t.Fatalf("the server stored %v, want %d bytes with SHA-256 %s", response, size, big.sha256)
	}
	_, data, err := download(t, client, &pb.DownloadProductImageRequest{ImageId: response.Images[0].ImageId, ChunkSize: 1 << 20})
	if err != nil || !bytes.Equal(data, big.data) {
		_, pings, _, goAways := wire.snapshot()
		t.Fatalf("the download sent %d bytes (%v), want the %d uploaded (%d pings sent; the server sent %v)",
			len(data), err, size, pings, goAways)
	}
	connections, pings, _, goAways := wire.snapshot()
	if len(goAways) != 0 || connections != 1 {
		t.Fatalf("%d connections; the server sent %v", connections, goAways)
	}
	t.Logf("64 MiB up and down on one connection: %d pings sent, no GOAWAY", pings)
}

func adminToken(t *testing.T) string {
	t.Helper()
	token, err := shared.tokenFor(adminUsername, "admin")
	if err != nil {
		t.Fatal(err)
	}
	return token
}
