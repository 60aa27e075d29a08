import Foundation
import StorefrontAPI
import SwiftProtobuf

/// Messages in protobuf's JSON mapping with every field printed: a field that holds zero or
/// is empty appears (`"stock": 0`, `"imageIds": []`) instead of being left out as proto3's
/// JSON leaves it, so that a script need not know the omission rule. int64 values stay
/// strings, as the mapping writes them (`"priceCents": "1299"`). Fields in a `oneof`, fields
/// marked `optional` and unset messages (a timestamp) are left out when unset: their absence
/// says something.
enum ProtoJSON {
  /// One line of JSON for `message`, fields in their declaration order.
  /// - Throws: when the message cannot be encoded (it holds unknown enum values of a closed
  ///   enum, say).
  static func string(_ message: some SwiftProtobuf.Message) throws -> String {
    let json = try message.jsonString()
    let name = "." + type(of: message).protoMessageName
    guard Self.index.messages[name] != nil,
      let object = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any]
    else { return json }
    return try Self.render(object, message: name)
  }

  /// The descriptors of `Protos/` by fully qualified name (`.storefront.v1.Product`).
  private struct Index {
    var messages: [String: Google_Protobuf_DescriptorProto] = [:]
    var enums: [String: Google_Protobuf_EnumDescriptorProto] = [:]
  }

  private static let index: Index = {
    var index = Index()
    guard
      let bytes = Data(
        base64Encoded: StorefrontFileDescriptors.fileDescriptorSetBase64,
        options: .ignoreUnknownCharacters
      ),
      let set = try? Google_Protobuf_FileDescriptorSet(serializedBytes: bytes)
    else { return index }
    func add(_ message: Google_Protobuf_DescriptorProto, in scope: String) {
      let name = scope + "." + message.name
      index.messages[name] = message
      for nested in message.nestedType { add(nested, in: name) }
      for enumeration in message.enumType {
        index.enums[name + "." + enumeration.name] = enumeration
      }
    }
    for file in set.file {
      let scope = file.package.isEmpty ? "" : "." + file.package
      for message in file.messageType { add(message, in: scope) }
      for enumeration in file.enumType { index.enums[scope + "." + enumeration.name] = enumeration }
    }
    return index
  }()

  private static func render(_ object: [String: Any], message name: String) throws -> String {
    guard let descriptor = Self.index.messages[name] else { return try Self.render(object) }
    var members: [String] = []
    var seen: Set<String> = []
    for field in descriptor.field {
      let key = field.jsonName
      seen.insert(key)
      let value: Any
      if let present = object[key] {
        value = present
      } else if let missing = Self.defaultValue(of: field) {
        value = missing
      } else {
        continue
      }
      members.append(try Self.render(key) + ":" + Self.render(value, field: field))
    }
    for key in object.keys.sorted() where !seen.contains(key) {
      members.append(try Self.render(key) + ":" + Self.render(object[key] as Any))
    }
    return "{" + members.joined(separator: ",") + "}"
  }

  /// A field's value, descending into messages of our own protos.
  private static func render(
    _ value: Any,
    field: Google_Protobuf_FieldDescriptorProto
  ) throws
    -> String
  {
    let nested = field.type == .message && !field.typeName.hasPrefix(".google.protobuf.")
    switch value {
    case let object as [String: Any] where nested && !Self.isMap(field):
      return try Self.render(object, message: field.typeName)
    case let array as [Any]:
      let elements = try array.map { element in
        if nested, let object = element as? [String: Any] {
          return try Self.render(object, message: field.typeName)
        }
        return try Self.render(element)
      }
      return "[" + elements.joined(separator: ",") + "]"
    default:
      return try Self.render(value)
    }
  }

  /// Anything else as JSONSerialization writes it.
  private static func render(_ value: Any) throws -> String {
    let data = try JSONSerialization.data(
      withJSONObject: value,
      options: [.fragmentsAllowed, .sortedKeys, .withoutEscapingSlashes]
    )
    return String(decoding: data, as: UTF8.self)
  }

  /// What the mapping would print for an unset field; nil for fields whose absence says
  /// something (oneof members, `optional` fields, messages).
  private static func defaultValue(of field: Google_Protobuf_FieldDescriptorProto) -> Any? {
    if field.label == .repeated { return Self.isMap(field) ? [String: Any]() : [Any]() }
    guard !field.hasOneofIndex, !field.proto3Optional else { return nil }
    switch field.type {
    case .message, .group: return nil
    case .string, .bytes: return ""
    case .bool: return false
    case .int64, .uint64, .sint64, .fixed64, .sfixed64: return "0"
    case .enum:
      let values = Self.index.enums[field.typeName]?.value ?? []
      return values.first { $0.number == 0 }?.name ?? 0
    default: return 0
    }
  }

  private static func isMap(_ field: Google_Protobuf_FieldDescriptorProto) -> Bool {
    field.label == .repeated && field.type == .message
      && Self.index.messages[field.typeName]?.options.mapEntry == true
  }
}
