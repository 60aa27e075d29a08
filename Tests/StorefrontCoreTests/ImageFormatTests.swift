import StorefrontCore
import Testing

/// Leading bytes of a file, and the format they should be recognised as.
struct SniffCase: Sendable, CustomTestStringConvertible {
  var label: String
  var bytes: [UInt8]
  var format: ImageFormat?

  var testDescription: String { self.label }
}

@Suite("ImageFormat")
struct ImageFormatTests {
  static let pngSignature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]

  static let images: [SniffCase] = [
    SniffCase(
      label: "PNG",
      bytes: Self.pngSignature + [0x00, 0x00, 0x00, 0x0D] + Array("IHDR".utf8),
      format: .png
    ),
    SniffCase(
      label: "JPEG (JFIF)",
      bytes: [0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10] + Array("JFIF".utf8),
      format: .jpeg
    ),
    SniffCase(label: "JPEG (Exif)", bytes: [0xFF, 0xD8, 0xFF, 0xE1, 0x12, 0x34], format: .jpeg),
    SniffCase(
      label: "WebP",
      bytes: Array("RIFF".utf8) + [0x24, 0x00, 0x00, 0x00] + Array("WEBPVP8 ".utf8),
      format: .webp
    ),
    SniffCase(label: "GIF87a", bytes: Array("GIF87a".utf8) + [0x01, 0x00], format: .gif),
    SniffCase(label: "GIF89a", bytes: Array("GIF89a".utf8) + [0x01, 0x00], format: .gif),
  ]

  static let nonImages: [SniffCase] = [
    SniffCase(label: "plain text", bytes: Array("hello, world\n".utf8)),
    SniffCase(label: "JSON", bytes: Array("{\"png\": true}".utf8)),
    SniffCase(label: "no bytes", bytes: []),
    SniffCase(label: "PNG signature cut short", bytes: Array(Self.pngSignature.prefix(7))),
    SniffCase(label: "PNG signature not at the start", bytes: [0x00] + Self.pngSignature),
    SniffCase(label: "JPEG marker cut short", bytes: [0xFF, 0xD8]),
    SniffCase(
      label: "RIFF WAVE audio",
      bytes: Array("RIFF".utf8) + [0x24, 0x00, 0x00, 0x00] + Array("WAVE".utf8)
    ),
    SniffCase(label: "GIF of an unknown version", bytes: Array("GIF90a".utf8)),
  ]

  @Test("sniffing recognises each format by its signature", arguments: images)
  func sniffsImage(_ image: SniffCase) {
    #expect(ImageFormat(sniffing: image.bytes) == image.format)
  }

  @Test("sniffing rejects bytes that are not an accepted image", arguments: nonImages)
  func rejectsNonImage(_ other: SniffCase) {
    #expect(ImageFormat(sniffing: other.bytes) == nil)
  }

  @Test("sniffing needs no more than sniffLength bytes")
  func sniffLengthSuffices() {
    for image in Self.images {
      let prefix = Array(image.bytes.prefix(ImageFormat.sniffLength))
      #expect(ImageFormat(sniffing: prefix) == image.format, "\(image.label)")
    }
  }

  static let contentTypes: [(String, ImageFormat?)] = [
    ("image/png", .png),
    ("IMAGE/PNG; charset=x", .png),
    ("image/png ; q=1", .png),
    (" image/webp ", .webp),
    ("image/jpeg", .jpeg),
    ("image/jpg", .jpeg),
    ("Image/JPG", .jpeg),
    ("image/gif", .gif),
    ("text/plain", nil),
    ("", nil),
    ("image/", nil),
    ("image/bmp", nil),
    ("image/svg+xml", nil),
    ("image/pngx", nil),
    ("application/octet-stream", nil),
    ("; image/png", nil),
  ]

  @Test("a declared content type maps to its format, or to nil", arguments: contentTypes)
  func parsesContentType(_ contentType: String, _ format: ImageFormat?) {
    #expect(ImageFormat(contentType: contentType) == format)
  }

  @Test("every format's raw value is its own content type", arguments: ImageFormat.allCases)
  func rawValueRoundTrips(_ format: ImageFormat) {
    #expect(ImageFormat(contentType: format.rawValue) == format)
  }
}
