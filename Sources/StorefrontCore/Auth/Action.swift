/// What a call does, as far as access is concerned. Every RPC of the API maps to exactly one.
public enum Action: String, Sendable, Hashable, CaseIterable {
  /// Signs in; open to anyone, since it is how one gets a token.
  case signIn
  /// Reads the catalogue: products, listings, the change feed, image downloads.
  case readCatalogue
  /// Writes the catalogue: creates, updates, deletes, imports, image uploads.
  case writeCatalogue
  /// Speaks in a product's chat room.
  case chat
  /// Creates, lists and disables users.
  case manageUsers
  /// A call nobody may make: an RPC no one has decided about yet.
  case closed
}
