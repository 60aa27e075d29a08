import Foundation
import StorefrontTestKit
import Testing

@testable import StorefrontCore

@Suite("AccessPolicy")
struct AccessPolicyTests {
  /// Who may take each action: nil is anyone, signed in or not.
  static let table: [(Action, Set<Role>?)] = [
    (.signIn, nil),
    (.readCatalogue, nil),
    (.writeCatalogue, [.admin, .staff]),
    (.chat, [.admin, .staff, .shopper]),
    (.manageUsers, [.admin]),
    (.closed, []),
  ]

  @Test("each action allows exactly its roles; anonymous callers only the open actions")
  func table() {
    let policy = AccessPolicy()
    #expect(Self.table.count == Action.allCases.count)
    for (action, roles) in Self.table {
      #expect(policy.allowedRoles(for: action) == roles, "\(action)")
      let anonymous = policy.decision(for: action, principal: nil)
      #expect(anonymous == (roles == nil ? .allow : .unauthenticated), "\(action)")
      for role in Role.allCases {
        let decision = policy.decision(for: action, principal: Principal(username: "u", role: role))
        let allowed = roles.map { $0.contains(role) } ?? true
        #expect(decision == (allowed ? .allow : .permissionDenied), "\(action) \(role)")
      }
    }
  }

  @Test("with reads requiring a user, anonymous reads are refused and every role may read")
  func readsRequireAuth() {
    let policy = AccessPolicy(requireAuthForReads: true)
    #expect(policy.decision(for: .readCatalogue, principal: nil) == .unauthenticated)
    for role in Role.allCases {
      let principal = Principal(username: "u", role: role)
      #expect(policy.decision(for: .readCatalogue, principal: principal) == .allow)
    }
    #expect(policy.decision(for: .signIn, principal: nil) == .allow)
  }
}
