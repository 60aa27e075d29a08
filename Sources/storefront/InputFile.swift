import Foundation

/// Opens files the user named, failing with what is wrong with the path.
enum InputFile {
  /// A handle to read `path`.
  /// - Throws: ``CommandFailure`` saying the file does not exist, is a folder, or cannot be
  ///   read (permissions).
  static func open(_ path: String) throws -> FileHandle {
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
      throw CommandFailure("\(path) does not exist")
    }
    guard !isDirectory.boolValue else {
      throw CommandFailure("\(path) is a folder, not a file")
    }
    guard let handle = FileHandle(forReadingAtPath: path) else {
      throw CommandFailure("\(path) cannot be read (check its permissions)")
    }
    return handle
  }
}
