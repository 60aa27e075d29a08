/// An error of the Storefront domain: what went wrong, in terms a client can act on.
///
/// The gRPC layer maps each ``Code`` to a status code in one place; the ``cause`` is for logs
/// and never reaches a client.
public struct StorefrontError: Error, Sendable, CustomStringConvertible {
  /// What kind of failure this is. New codes may be added; a protocol layer maps each
  /// ``Kind`` exhaustively, so a new one cannot reach a client unmapped.
  public struct Code: Hashable, Sendable, CustomStringConvertible {
    /// Every code there is, for exhaustive mappings.
    public enum Kind: String, CaseIterable, Hashable, Sendable {
      case invalidArgument, notFound, alreadyExists, aborted, failedPrecondition
      case resourceExhausted, unavailable, internalError, outOfRange
      case unauthenticated, permissionDenied
    }

    /// Which code this is.
    public let kind: Kind

    /// The code of `kind`.
    public init(kind: Kind) {
      self.kind = kind
    }

    /// The request is malformed; ``StorefrontError/fieldViolations`` name the fields.
    public static let invalidArgument = Self(kind: .invalidArgument)
    /// The named product, image or room does not exist.
    public static let notFound = Self(kind: .notFound)
    /// A unique value (a product's sku) is taken.
    public static let alreadyExists = Self(kind: .alreadyExists)
    /// A concurrent write won: the etag given is not the current one.
    public static let aborted = Self(kind: .aborted)
    /// The system is not in a state that allows the operation.
    public static let failedPrecondition = Self(kind: .failedPrecondition)
    /// A limit was hit: size, count, rate or queue length.
    public static let resourceExhausted = Self(kind: .resourceExhausted)
    /// The store cannot serve right now (disk full, read-only); retrying may succeed.
    public static let unavailable = Self(kind: .unavailable)
    /// A bug or an unexpected failure; details go to the log only.
    public static let internalError = Self(kind: .internalError)
    /// A position past the end of what exists: a download offset, a change sequence that was
    /// pruned or never handed out.
    public static let outOfRange = Self(kind: .outOfRange)

    /// The call has no valid credentials: no token, a malformed, forged or expired one, a
    /// disabled user, or a wrong username or password.
    public static let unauthenticated = Self(kind: .unauthenticated)
    /// The caller is signed in but their role does not allow the call.
    public static let permissionDenied = Self(kind: .permissionDenied)

    public var description: String { self.kind.rawValue }
  }

  /// One field of a request and what is wrong with it.
  public struct FieldViolation: Hashable, Sendable {
    /// The field's path in the request, e.g. `product.price_cents`.
    public var field: String
    /// What is wrong, in a sentence a developer can act on.
    public var description: String

    public init(field: String, description: String) {
      self.field = field
      self.description = description
    }
  }

  public var code: Code
  public var message: String
  /// The offending fields of an ``Code/invalidArgument`` error.
  public var fieldViolations: [FieldViolation]
  /// The underlying error, for logs.
  public var cause: (any Error)?
  /// How long the client should wait before trying again (a throttled sign-in).
  public var retryDelay: Duration?

  public init(
    code: Code,
    message: String,
    fieldViolations: [FieldViolation] = [],
    cause: (any Error)? = nil,
    retryDelay: Duration? = nil
  ) {
    self.code = code
    self.message = message
    self.fieldViolations = fieldViolations
    self.cause = cause
    self.retryDelay = retryDelay
  }

  /// An ``Code/invalidArgument`` error naming one field.
  public static func invalidArgument(field: String, _ description: String) -> Self {
    let violation = FieldViolation(field: field, description: description)
    return Self(
      code: .invalidArgument,
      message: Self.message(for: [violation]),
      fieldViolations: [violation]
    )
  }

  /// An ``Code/invalidArgument`` error naming several fields, or `nil` when there are none.
  public static func invalidArguments(_ violations: [FieldViolation]) -> Self? {
    guard !violations.isEmpty else { return nil }
    return Self(
      code: .invalidArgument,
      message: Self.message(for: violations),
      fieldViolations: violations
    )
  }

  private static func message(for violations: [FieldViolation]) -> String {
    violations.map { "\($0.field): \($0.description)" }.joined(separator: "; ")
  }

  /// A ``Code/notFound`` error for a missing entity.
  public static func notFound(_ kind: String, id: String) -> Self {
    Self(code: .notFound, message: "\(kind) '\(id)' not found")
  }

  public var description: String {
    var text = "\(self.code): \(self.message)"
    if let cause = self.cause {
      text += " (cause: \(String(reflecting: cause)))"
    }
    return text
  }

  /// Rewrites each violation's field as `prefix.field`, for errors raised on a nested message.
  public func prefixingFields(with prefix: String) -> Self {
    self.mappingFields { "\(prefix).\($0)" }
  }

  /// Rewrites each violation's field with `transform`: a protocol layer names fields by
  /// where they sit in its request.
  public func mappingFields(_ transform: (String) -> String) -> Self {
    var copy = self
    copy.fieldViolations = self.fieldViolations.map {
      FieldViolation(field: transform($0.field), description: $0.description)
    }
    if !copy.fieldViolations.isEmpty {
      copy.message = Self.message(for: copy.fieldViolations)
    }
    return copy
  }
}
