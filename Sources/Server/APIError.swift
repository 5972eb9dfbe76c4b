import Foundation
import HTTPTypes

/// An error as OpenAI's API answers it: `{"error": {"message", "type", "param", "code"}}` with
/// the matching status, so clients show the server's own words.
public struct APIError: Error, Equatable, CustomStringConvertible {
    public let status: HTTPResponse.Status
    public let message: String
    public let type: String
    public let param: String?
    public let code: String?

    public init(status: HTTPResponse.Status, message: String, type: String, param: String? = nil, code: String? = nil) {
        (self.status, self.message, self.type, self.param, self.code) = (status, message, type, param, code)
    }

    public var description: String { "\(status.code) \(type): \(message)" }

    /// A request the server cannot take as sent (400), naming the field at fault.
    public static func invalid(_ message: String, param: String? = nil, code: String? = "invalid_value") -> APIError {
        APIError(status: .badRequest, message: message, type: "invalid_request_error", param: param, code: code)
    }

    public static func unauthorized() -> APIError {
        APIError(
            status: .unauthorized,
            message: "Incorrect or missing API key: send it as 'Authorization: Bearer <key>'.",
            type: "invalid_request_error", code: "invalid_api_key")
    }

    public static func notFound(_ message: String, param: String? = nil, code: String? = nil) -> APIError {
        APIError(status: .notFound, message: message, type: "invalid_request_error", param: param, code: code)
    }

    public static func unavailable(_ message: String) -> APIError {
        APIError(status: .serviceUnavailable, message: message, type: "server_error", code: "unavailable")
    }

    public static func busy(_ message: String) -> APIError {
        APIError(status: .tooManyRequests, message: message, type: "rate_limit_error", code: "queue_full")
    }

    public static func internalError(_ message: String) -> APIError {
        APIError(status: .internalServerError, message: message, type: "server_error")
    }

    /// The JSON body.
    public var body: Data {
        var error: [String: Any] = ["message": message, "type": type, "param": param as Any, "code": code as Any]
        if param == nil { error["param"] = NSNull() }
        if code == nil { error["code"] = NSNull() }
        return Data(jsonText(["error": error]).utf8)
    }
}
