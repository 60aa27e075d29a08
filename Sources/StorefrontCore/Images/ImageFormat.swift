/// The image types Storefront accepts, recognised by their leading bytes.
public enum ImageFormat: String, CaseIterable, Sendable {
  case png = "image/png"
  case jpeg = "image/jpeg"
  case webp = "image/webp"
  case gif = "image/gif"

  /// How many leading bytes ``init(sniffing:)`` needs to decide.
  public static let sniffLength = 12

  /// The format of a declared content type, or nil when it is not one we accept.
  public init?(contentType: String) {
    let base =
      contentType.split(separator: ";", omittingEmptySubsequences: false).first.map(String.init)
      ?? ""
    let normalized = base.trimmingWhitespace().lowercased()
    if normalized == "image/jpg" {
      self = .jpeg
      return
    }
    self.init(rawValue: normalized)
  }

  /// The format whose signature `prefix` starts with, or nil.
  public init?(sniffing prefix: some Collection<UInt8>) {
    let bytes = Array(prefix.prefix(Self.sniffLength))
    func starts(_ signature: [UInt8], at offset: Int = 0) -> Bool {
      bytes.count >= offset + signature.count
        && Array(bytes[offset ..< offset + signature.count]) == signature
    }
    if starts([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) {
      self = .png
    } else if starts([0xFF, 0xD8, 0xFF]) {
      self = .jpeg
    } else if starts(Array("RIFF".utf8)) && starts(Array("WEBP".utf8), at: 8) {
      self = .webp
    } else if starts(Array("GIF87a".utf8)) || starts(Array("GIF89a".utf8)) {
      self = .gif
    } else {
      return nil
    }
  }
}

extension String {
  func trimmingWhitespace() -> Substring {
    let scalars = self.unicodeScalars
    guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }) else {
      return ""
    }
    let last = scalars.lastIndex(where: { !$0.properties.isWhitespace })!
    return Substring(scalars[first ... last])
  }
}
