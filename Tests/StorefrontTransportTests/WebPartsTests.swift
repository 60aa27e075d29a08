import GRPCCore
import NIOCore
import NIOHPACK
import Testing

@testable import StorefrontTransport

@Suite("Web protocol parts")
struct WebPartsTests {
  @Test("gRPC-Web text: a body of separately padded base64 chunks decodes whole")
  func base64Chunks() {
    let first: [UInt8] = [0, 0, 0, 0, 1, 42]
    let second: [UInt8] = [128, 0, 0, 0, 3, 65, 66, 67, 1]
    let body = Array((Base64.encode(first) + Base64.encode(second)).utf8)
    #expect(Base64.decode(groups: body[...]) == first + second)
    #expect(Base64.decode(groups: Array("AAAA$AAA".utf8)[...]) == nil)
  }

  @Test("base64url with or without padding, as Connect GET sends it")
  func base64URL() {
    let bytes: [UInt8] = [0xFB, 0xFF, 0xBF, 0x10]
    #expect(Base64.decode("-_-_EA", urlSafe: true) == bytes)
    #expect(Base64.decode("-_-_EA==", urlSafe: true) == bytes)
    #expect(Base64.encode(bytes, padded: false) == "+/+/EA")
  }

  @Test(
    "a content type names its protocol, parameters and case aside",
    arguments: [
      ("application/grpc", WireProtocol.grpc),
      ("application/grpc-web+proto", .grpcWeb(text: false)),
      ("Application/GRPC-Web-Text", .grpcWeb(text: true)),
      ("application/json; charset=utf-8", .connectUnary(json: true)),
      ("application/proto", .connectUnary(json: false)),
      ("application/connect+json", .connectStream(json: true)),
      ("application/connect+proto", .connectStream(json: false)),
    ]
  )
  func contentTypes(contentType: String, wire: WireProtocol) {
    #expect(WireProtocol.named(contentType: Substring(contentType)) == wire)
  }

  @Test(
    "an unknown content type names no protocol",
    arguments: ["text/plain", "application/xml", ""]
  )
  func unknownContentTypes(contentType: String) {
    #expect(WireProtocol.named(contentType: Substring(contentType)) == nil)
  }

  @Test("a Connect GET's query is percent-decoded, + as a space")
  func query() {
    let items = WebRequest.queryItems("/s/M?encoding=json&message=%7B%22id%22%3A%22a+b%22%7D&x")
    #expect(items["encoding"] == "json")
    #expect(items["message"] == "{\"id\":\"a b\"}")
    #expect(items["x"] == "")
    #expect(WebRequest.queryItems("/s/M").isEmpty)
  }

  @Test("Connect's codes and HTTP statuses follow its table")
  func connectCodes() {
    #expect(ConnectError.name(.cancelled) == "canceled")
    #expect(ConnectError.name(.internalError) == "internal")
    #expect(ConnectError.httpStatus(.notFound) == 404)
    #expect(ConnectError.httpStatus(.unauthenticated) == 401)
    #expect(ConnectError.httpStatus(.resourceExhausted) == 429)
    #expect(ConnectError.httpStatus(.deadlineExceeded) == 504)
    #expect(ConnectError.httpStatus(.dataLoss) == 500)
  }

  @Test("an error's JSON carries the rich status's details by type, in unpadded base64")
  func errorJSON() {
    // google.rpc.Status { code: 3, message: "m", details: [Any { type_url, value: [1, 2] }] }
    let typeURL = Array("type.googleapis.com/google.rpc.BadRequest".utf8)
    var any: [UInt8] = [0x0A, UInt8(typeURL.count)] + typeURL
    any += [0x12, 2, 1, 2]
    let status: [UInt8] = [0x08, 3, 0x12, 1, UInt8(ascii: "m"), 0x1A, UInt8(any.count)] + any
    var metadata = Metadata()
    metadata.addBinary(status, forKey: ConnectError.detailsKey)
    let json = ConnectError.json(
      status: Status(code: .invalidArgument, message: "bad \"sku\"\n"),
      metadata: metadata
    )
    #expect(
      json == #"{"code":"invalid_argument","message":"bad \"sku\"\n","details":"#
        + #"[{"type":"google.rpc.BadRequest","value":"AQI"}]}"#
    )
  }

  @Test("a truncated rich status yields the details before the cut, and no crash")
  func truncatedStatus() {
    #expect(RichStatus.details(of: [0x1A, 50, 1, 2]).isEmpty)
    #expect(RichStatus.details(of: [0xFF]).isEmpty)
  }

  @Test("Connect's end of stream holds the error and the metadata, and no details key")
  func endOfStream() {
    let response = WebResponse(wire: .connectStream(json: true), extraHeaders: [], json: nil)
    var metadata = Metadata()
    metadata.addString("abc", forKey: "x-request-id")
    var envelope = response.connectEndOfStream(
      status: Status(code: .notFound, message: "no such product"),
      metadata: metadata
    )
    #expect(envelope.readInteger(as: UInt8.self) == 0x02)
    let length = envelope.readInteger(as: UInt32.self) ?? 0
    #expect(
      envelope.readString(length: Int(length))
        == #"{"error":{"code":"not_found","message":"no such product"},"#
        + #""metadata":{"x-request-id":["abc"]}}"#
    )
  }

  @Test("gRPC-Web's trailers are a 0x80 envelope of header lines")
  func grpcWebTrailers() {
    let response = WebResponse(wire: .grpcWeb(text: false), extraHeaders: [], json: nil)
    var envelope = response.grpcWebTrailers(status: Status(code: .ok, message: ""), metadata: [:])
    #expect(envelope.readInteger(as: UInt8.self) == 0x80)
    let length = envelope.readInteger(as: UInt32.self) ?? 0
    #expect(envelope.readString(length: Int(length)) == "grpc-status:0\r\n")
  }

  @Test("a Connect unary error answers the code's HTTP status with JSON; success the message")
  func connectUnary() {
    let response = WebResponse(wire: .connectUnary(json: true), extraHeaders: [], json: nil)
    var trailing = Metadata()
    trailing.addString("r1", forKey: "x-request-id")
    let (failed, body) = response.connectUnary(
      status: Status(code: .aborted, message: "stale etag"),
      leading: [:],
      trailing: trailing,
      message: nil
    )
    #expect(failed.first(name: ":status") == "409")
    #expect(failed.first(name: "content-type") == "application/json")
    #expect(failed.first(name: "trailer-x-request-id") == "r1")
    #expect(String(buffer: body) == #"{"code":"aborted","message":"stale etag"}"#)
    let (ok, message) = response.connectUnary(
      status: Status(code: .ok, message: ""),
      leading: [:],
      trailing: [:],
      message: ByteBuffer(string: "{}")
    )
    #expect(ok.first(name: ":status") == "200")
    #expect(String(buffer: message) == "{}")
  }
}
