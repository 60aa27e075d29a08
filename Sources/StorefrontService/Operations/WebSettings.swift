public import Foundation
import StorefrontTransport

/// gRPC-Web, Connect and the web page, served on the gRPC port by the Storefront transport
/// (the `nio` transport serves gRPC only).
public struct WebSettings: Sendable, Hashable {
  /// Whether browsers' protocols and the page are served at all.
  public var enabled: Bool
  /// The origins allowed to call from another origin (`--web-origin`; `*`: any). Empty:
  /// same-origin only.
  public var allowedOrigins: [String]
  /// The web page's folder, served at `/`; nil: no page (the protocols are still served).
  public var pageDirectory: URL?

  public init(enabled: Bool = true, allowedOrigins: [String] = [], pageDirectory: URL? = nil) {
    self.enabled = enabled
    self.allowedOrigins = allowedOrigins
    self.pageDirectory = pageDirectory
  }

  /// The transport's web settings; nil when disabled.
  /// - Throws: when the page's folder cannot be read.
  func transportWeb() throws -> StorefrontServerTransport.Web? {
    guard self.enabled else { return nil }
    var web = StorefrontServerTransport.Web()
    web.allowedOrigins = self.allowedOrigins
    web.methods = WebAPI.methods
    if let directory = self.pageDirectory {
      web.files = try WebAPI.files(in: directory)
    }
    return web
  }
}
