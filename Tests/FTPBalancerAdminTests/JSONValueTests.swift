import Testing

@testable import FTPBalancerAdmin

@Suite struct JSONValueTests {
    static let document: JSONValue = .object([
        "name": .string("ftp \"main\"\n\u{01}é😀"),
        "count": .integer(-42),
        "rate": .number(2.5),
        "up": .bool(true),
        "none": .null,
        "list": .array([.integer(1), .array([]), .object([JSONField]())]),
    ])

    @Test func aDocumentSurvivesWritingAndReadingBack() throws {
        #expect(try JSONValue(parsing: Self.document.prettyText) == Self.document)
    }

    @Test func theWriterIndentsKeepsKeyOrderAndEscapesControlCharacters() {
        #expect(
            JSONValue.object(["b": .integer(1), "a": .array([.string("x\t")])]).prettyText
                == "{\n  \"b\": 1,\n  \"a\": [\n    \"x\\t\"\n  ]\n}\n"
        )
        #expect(JSONValue.string("\u{1F}").prettyText == "\"\\u001f\"\n")
        #expect(JSONValue.number(.infinity).prettyText == "null\n")
    }

    @Test func theParserReadsEscapesAndSurrogatePairs() throws {
        #expect(
            try JSONValue(parsing: #"["\u00e9\ud83d\ude00\/\\", 1e3, -0.5]"#)
                == .array([.string("é😀/\\"), .number(1000), .number(-0.5)])
        )
    }

    @Test func malformedDocumentsAreRefusedWithTheirOffset() {
        for text in ["", "{", "[1,]", "{\"a\" 1}", "nul", "\"abc", "\"\\ud800\"", "1 2", "\"a\u{01}\""] {
            #expect(throws: JSONParseError.self, "\(text)") { try JSONValue(parsing: text) }
        }
        #expect(throws: JSONParseError(offset: 2, reason: "unexpected text after the document")) {
            try JSONValue(parsing: "1 2")
        }
    }

    @Test func nestingBeyondTheLimitIsRefused() {
        let deep = String(repeating: "[", count: 100) + String(repeating: "]", count: 100)
        #expect(throws: JSONParseError.self) { try JSONValue(parsing: deep) }
    }

    @Test func accessorsReadFieldsAndNumbers() {
        #expect(Self.document["count"]?.intValue == -42)
        #expect(Self.document["rate"]?.doubleValue == 2.5)
        #expect(Self.document["rate"]?.intValue == nil)
        #expect(Self.document["missing"] == nil)
        #expect(JSONValue.number(3).intValue == 3)
    }

    @Test func percentEncodingRoundTripsServerNames() {
        for name in ["ftp-a", "10.0.2.12:21", "[2001:db8::1]:21", "naïve name"] {
            #expect(PercentEncoding.decode(PercentEncoding.encode(name)) == name)
        }
        #expect(PercentEncoding.encode("[::1]:21") == "%5B%3A%3A1%5D%3A21")
        #expect(PercentEncoding.decode("%zz") == nil)
        #expect(PercentEncoding.decode("%ff") == nil)
    }
}
