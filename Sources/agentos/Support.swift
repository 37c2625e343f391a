import Determinism
import Foundation
import Sim

func oneLineError(_ error: Error) -> String {
    if let error = error as? SimConfigError { return error.description }
    if let error = error as? TraceFileError { return error.description }
    return oneLine(error)
}
