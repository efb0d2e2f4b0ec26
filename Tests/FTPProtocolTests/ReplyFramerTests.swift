import NIOCore
import Testing

// @testable for the memberwise initializer of ReplyLine, which is internal.
@testable import FTPProtocol

@Suite struct ReplyFramerTests {
    @Test func aOneLineReplyIsSingleAndEndsItsCommand() {
        var framer = ReplyFramer()
        let reply = framer.classify(line("227 Entering Passive Mode (127,0,0,1,156,64)."))
        #expect(reply == ReplyLine(code: 227, position: .single))
        #expect(reply.endsReply)
        #expect(reply.endsCommand)
    }

    @Test func aPreliminaryReplyEndsItsReplyButNotItsCommand() {
        var framer = ReplyFramer()
        let reply = framer.classify(line("150 Opening BINARY mode data connection."))
        #expect(reply.endsReply)
        #expect(!reply.endsCommand)
    }

    @Test func aMultiLineReplyOpensContinuesAndClosesWithTheSameCode() {
        var framer = ReplyFramer()
        #expect(framer.classify(line("211-Features:")) == ReplyLine(code: 211, position: .opening))
        #expect(framer.classify(line(" EPSV")) == ReplyLine(code: 211, position: .continuation))
        #expect(framer.classify(line(" MDTM")) == ReplyLine(code: 211, position: .continuation))
        #expect(framer.classify(line("211 End")) == ReplyLine(code: 211, position: .closing))
        #expect(framer.classify(line("200 Next")) == ReplyLine(code: 200, position: .single))
    }

    @Test func insideAMultiLineReplyLinesWithOtherCodesAreContinuations() {
        var framer = ReplyFramer()
        #expect(
            framer.classify(line("214-The following commands are recognized."))
                == ReplyLine(code: 214, position: .opening)
        )
        #expect(framer.classify(line("200 is not the end")) == ReplyLine(code: 214, position: .continuation))
        #expect(framer.classify(line("500-nor is this")) == ReplyLine(code: 214, position: .continuation))
        #expect(framer.classify(line("214-still inside")) == ReplyLine(code: 214, position: .continuation))
        #expect(framer.classify(line("2145 four digits")) == ReplyLine(code: 214, position: .continuation))
        #expect(framer.classify(line("")) == ReplyLine(code: 214, position: .continuation))
        #expect(framer.classify(line("214 Help OK.")) == ReplyLine(code: 214, position: .closing))
    }

    @Test func theCodeAloneClosesAMultiLineReply() {
        var framer = ReplyFramer()
        _ = framer.classify(line("211-Status"))
        #expect(framer.classify(line("211")) == ReplyLine(code: 211, position: .closing))
    }

    @Test func theClosingLineOfAMultiLineReplyEndsTheCommandOnlyForACompletionCode() {
        var framer = ReplyFramer()
        _ = framer.classify(line("211-Status"))
        #expect(framer.classify(line("211 End")).endsCommand)
        _ = framer.classify(line("120-Wait"))
        let closing = framer.classify(line("120 Ready soon"))
        #expect(closing.endsReply)
        #expect(!closing.endsCommand)
    }

    @Test func aLineOutsideAnyReplyWithoutACodeIsUnframed() {
        var framer = ReplyFramer()
        for text in ["", "hello", "99 short", "099 below a hundred", "2x0 letters", "21"] {
            let reply = framer.classify(line(text))
            #expect(reply == ReplyLine(code: nil, position: .unframed), "\(text)")
            #expect(!reply.endsReply)
        }
        #expect(framer.classify(line("220 Ready")) == ReplyLine(code: 220, position: .single))
    }

    @Test func theCodeIsReadFromTheStartOfTheReadableBytes() {
        var buffer = line("xx331 Password required")
        buffer.moveReaderIndex(forwardBy: 2)
        #expect(ReplyFramer.code(of: buffer) == 331)
        var framer = ReplyFramer()
        #expect(framer.classify(buffer) == ReplyLine(code: 331, position: .single))
    }
}
