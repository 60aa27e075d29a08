import StorefrontCore
import Testing

@Suite("StorefrontError")
struct StorefrontErrorTests {
  struct Cause: Error {}

  @Test("invalidArgument(field:) names one field and says what is wrong with it")
  func oneField() {
    let error = StorefrontError.invalidArgument(field: "name", "must not be empty")
    #expect(error.code == .invalidArgument)
    let violation = StorefrontError.FieldViolation(field: "name", description: "must not be empty")
    #expect(error.fieldViolations == [violation])
    #expect(error.message == "name: must not be empty")
  }

  @Test("invalidArguments gives nil for no violations and one error for several")
  func severalFields() throws {
    let noError = StorefrontError.invalidArguments([]) == nil
    #expect(noError)
    let error = try #require(
      StorefrontError.invalidArguments([
        .init(field: "sku", description: "must not be empty"),
        .init(field: "stock", description: "must not be negative"),
      ])
    )
    #expect(error.code == .invalidArgument)
    #expect(error.fieldViolations.map(\.field) == ["sku", "stock"])
    #expect(error.message == "sku: must not be empty; stock: must not be negative")
  }

  @Test("prefixingFields rewrites every field and the message")
  func prefixing() {
    let error = StorefrontError.invalidArgument(field: "price_cents", "must not be negative")
      .prefixingFields(with: "product")
    #expect(error.fieldViolations.map(\.field) == ["product.price_cents"])
    #expect(error.message == "product.price_cents: must not be negative")
    #expect(error.code == .invalidArgument)
  }

  @Test("prefixingFields keeps the message of an error without violations")
  func prefixingWithoutViolations() {
    let error = StorefrontError(code: .aborted, message: "etag is stale")
      .prefixingFields(with: "product")
    #expect(error.message == "etag is stale")
    #expect(error.fieldViolations.isEmpty)
  }

  @Test("notFound names the kind and the id")
  func notFoundNamesKindAndID() {
    let error = StorefrontError.notFound("product", id: "p_1")
    #expect(error.code == .notFound)
    #expect(error.message == "product 'p_1' not found")
  }

  @Test("the description shows the code, the message and the cause")
  func describesItself() {
    let plain = StorefrontError(code: .unavailable, message: "the store is unavailable")
    #expect(plain.description == "unavailable: the store is unavailable")
    let caused = StorefrontError(code: .internalError, message: "store failure", cause: Cause())
    #expect(caused.description.hasPrefix("internalError: store failure (cause: "))
    #expect(caused.description.contains("Cause"))
  }
}
