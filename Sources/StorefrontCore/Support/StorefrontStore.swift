/// Everything a store of Storefront implements: the catalogue and its change log, image
/// records, chat history and users. Every store passes the one store contract suite.
public typealias StorefrontStore =
  ProductStore & ProductChangeStore & ImageStore & ChatStore & UserStore
