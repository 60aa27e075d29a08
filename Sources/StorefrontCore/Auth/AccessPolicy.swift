/// Which roles may take which ``Action``: the one table of who may do what.
public struct AccessPolicy: Sendable {
  /// The outcome of asking the policy.
  public enum Decision: Sendable, Hashable {
    /// The call may go ahead.
    case allow
    /// The action needs a signed-in user and the call has none (or an invalid token).
    case unauthenticated
    /// The user is signed in but their role does not allow the action.
    case permissionDenied
  }

  /// Whether reading the catalogue needs a signed-in user (any role).
  public var requireAuthForReads: Bool

  public init(requireAuthForReads: Bool = false) {
    self.requireAuthForReads = requireAuthForReads
  }

  /// The roles that may take `action`; nil when anyone may, signed in or not. (The sets are
  /// made once: the policy is asked on every call.)
  public func allowedRoles(for action: Action) -> Set<Role>? {
    switch action {
    case .signIn:
      return nil
    case .readCatalogue:
      return self.requireAuthForReads ? Self.everyRole : nil
    case .writeCatalogue:
      return Self.staffAndAdmins
    case .chat:
      return Self.everyRole
    case .manageUsers:
      return Self.admins
    case .closed:
      return Self.nobody
    }
  }

  private static let everyRole = Set(Role.allCases)
  private static let staffAndAdmins: Set<Role> = [.admin, .staff]
  private static let admins: Set<Role> = [.admin]
  private static let nobody: Set<Role> = []

  /// Whether `principal` (nil: nobody signed in) may take `action`.
  public func decision(for action: Action, principal: Principal?) -> Decision {
    guard let roles = self.allowedRoles(for: action) else { return .allow }
    guard let principal else { return .unauthenticated }
    return roles.contains(principal.role) ? .allow : .permissionDenied
  }
}
