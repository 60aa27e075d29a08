import Foundation
public import GRPCCore
import StorefrontAPI
public import StorefrontCore

/// The one place access is enforced. For each call it finds the method's ``Action``, reads
/// `authorization: Bearer <token>`, asks the ``AccessPolicy`` and either refuses the call
/// (UNAUTHENTICATED without a valid token, PERMISSION_DENIED for a role that may not) before
/// any handler runs, or runs it with the caller as ``AuthContext/principal``.
///
/// Methods of `storefront.*` services missing from ``actions`` are refused: a new RPC is
/// closed until someone decides who may call it. The standard health and reflection services
/// stay open, since probes and tools carry no token.
public struct AuthInterceptor: ServerInterceptor {
  /// The action of each RPC of our services.
  public static let actions: [MethodDescriptor: Action] = {
    typealias Products = Storefront_V1_ProductService.Method
    typealias Users = Storefront_V1_UserService.Method
    return [
      Products.GetProduct.descriptor: .readCatalogue,
      Products.ListProducts.descriptor: .readCatalogue,
      Products.WatchProducts.descriptor: .readCatalogue,
      Products.DownloadProductImage.descriptor: .readCatalogue,
      Products.CreateProduct.descriptor: .writeCatalogue,
      Products.UpdateProduct.descriptor: .writeCatalogue,
      Products.DeleteProduct.descriptor: .writeCatalogue,
      Products.ImportProducts.descriptor: .writeCatalogue,
      Products.UploadProductImages.descriptor: .writeCatalogue,
      Products.Chat.descriptor: .chat,
      Products.FollowChat.descriptor: .chat,
      Products.SendChatMessage.descriptor: .chat,
      Storefront_V1_AuthService.Method.Login.descriptor: .signIn,
      Users.CreateUser.descriptor: .manageUsers,
      Users.ListUsers.descriptor: .manageUsers,
      Users.DisableUser.descriptor: .manageUsers,
    ]
  }()

  /// The metadata key of the credentials.
  static let authorizationKey = "authorization"

  private let authenticator: Authenticator
  private let policy: AccessPolicy

  /// - Parameters:
  ///   - authenticator: checks tokens.
  ///   - policy: who may do what.
  public init(authenticator: Authenticator, policy: AccessPolicy) {
    self.authenticator = authenticator
    self.policy = policy
  }

  public func intercept<Input: Sendable, Output: Sendable>(
    request: StreamingServerRequest<Input>,
    context: ServerContext,
    next:
      @Sendable (StreamingServerRequest<Input>, ServerContext) async throws ->
      StreamingServerResponse<Output>
  ) async throws -> StreamingServerResponse<Output> {
    guard let action = Self.actions[context.descriptor] ?? Self.closed(context.descriptor) else {
      return try await next(request, context)
    }
    // A refusal is thrown: ``StatusInterceptor``, outside this one, maps it as any error.
    let principal = try await self.admit(action, request: request, context: context)
    guard let principal else { return try await next(request, context) }
    // The handler runs partly inside `next` and partly in the response's producer (streams):
    // both see the caller.
    let response = try await AuthContext.$principal.withValue(principal) {
      try await next(request, context)
    }
    return response.aroundProducer { writer, producer in
      try await AuthContext.$principal.withValue(principal) { try await producer(writer) }
    }
  }

  /// The caller, when `action` is allowed for them.
  /// - Throws: UNAUTHENTICATED or PERMISSION_DENIED as ``StorefrontError``.
  private func admit<Input>(
    _ action: Action,
    request: StreamingServerRequest<Input>,
    context: ServerContext
  ) async throws -> Principal? {
    // Signing in ignores any token sent along, so a client whose token expired can get a
    // new one.
    let principal =
      action == .signIn ? nil : try await self.principal(from: request.metadata)
    switch self.policy.decision(for: action, principal: principal) {
    case .allow:
      break
    case .unauthenticated:
      throw StorefrontError(
        code: .unauthenticated,
        message: "sign in first: send 'authorization: Bearer <token>' (AuthService.Login)"
      )
    case .permissionDenied:
      throw StorefrontError(
        code: .permissionDenied,
        message: "the role '\(principal?.role.rawValue ?? "")' may not call "
          + context.descriptor.method
      )
    }
    return principal
  }

  /// For a method missing from ``actions``: nil (open) for the standard services, and for
  /// ours an action no role is allowed, ``Action/closed``.
  private static func closed(_ method: MethodDescriptor) -> Action? {
    method.service.fullyQualifiedService.hasPrefix("storefront.") ? .closed : nil
  }

  /// The signed-in user of a call; nil when it sends no credentials.
  /// - Throws: UNAUTHENTICATED for credentials that are not a valid Bearer token.
  private func principal(from metadata: Metadata) async throws -> Principal? {
    var values = metadata[stringValues: Self.authorizationKey].makeIterator()
    guard let value = values.next() else { return nil }
    guard values.next() == nil else {
      throw StorefrontError(code: .unauthenticated, message: "send one authorization header")
    }
    let parts = value.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
    guard parts.count == 2, parts[0].lowercased() == "bearer" else {
      throw StorefrontError(
        code: .unauthenticated,
        message: "the authorization header must be 'Bearer <token>'"
      )
    }
    return try await self.authenticator.principal(
      forToken: parts[1].trimmingCharacters(in: .whitespaces)
    )
  }
}

/// Who the current call is from, as ``AuthInterceptor`` found it.
public enum AuthContext {
  /// The signed-in caller; nil for an anonymous call (only where the policy allows one).
  @TaskLocal public static var principal: Principal?
}
