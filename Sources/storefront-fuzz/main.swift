// The libFuzzer target over every RPC's request decoding and validation. Built only by
// scripts/fuzz.sh (`--sanitize=fuzzer`, in .build-fuzz); in an ordinary build it is an
// executable that does nothing. See RequestFuzzer for the input format.

import Dispatch
import Foundation
import StorefrontFuzzing
import Synchronization

/// The fuzzer's server, started on the first input, in a folder of its own.
enum Harness {
  static let fuzzer: RequestFuzzer = waitFor {
    let directory = URL(fileURLWithPath: NSTemporaryDirectory())
      .appendingPathComponent("storefront-fuzz-\(getpid())", isDirectory: true)
    do {
      // STOREFRONT_FUZZ_TRANSPORT: in-process (the default), storefront or nio.
      let name = ProcessInfo.processInfo.environment["STOREFRONT_FUZZ_TRANSPORT"] ?? ""
      let transport = FuzzTransport(rawValue: name) ?? .inProcess
      return try await RequestFuzzer(directory: directory, transport: transport)
    } catch {
      fatalError("cannot start the fuzzing server: \(error)")
    }
  }
}

/// Runs `body` to its end from synchronous code (libFuzzer calls in on a thread of its own).
func waitFor<Value: Sendable>(_ body: @escaping @Sendable () async -> Value) -> Value {
  let result = Mutex<Value?>(nil)
  let done = DispatchSemaphore(value: 0)
  Task {
    let value = await body()
    result.withLock { $0 = value }
    done.signal()
  }
  done.wait()
  return result.withLock { $0! }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
  let input = Array(UnsafeBufferPointer(start: data, count: size))
  let fuzzer = Harness.fuzzer
  let outcome = waitFor { await fuzzer.exercise(input) }
  if !outcome.isClear {
    fatalError("the server answered \(outcome) to this input")
  }
  return 0
}
