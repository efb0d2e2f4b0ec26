import NIOCore
import Testing

@testable import FTPProtocol

@Suite("Replies that follow a data connection")
struct ControlSessionStateMachineTransferReplyTests {
    static func greeted() -> ControlSessionStateMachine {
        var machine = ControlSessionStateMachine(
            addresses: .init(client: "198.51.100.7", advertised: "192.0.2.10", hidden: ["10.0.2.1"])
        )
        _ = machine.serverReplyLine(line("220 ready"))
        return machine
    }

    @Test("The next reply due is a transfer command's from the command to its completion, and only then.")
    func aTransferCommandsReplyIsAwaitedUntilItsCompletion() {
        var machine = Self.greeted()
        #expect(!machine.awaitsTransferReply)
        for verb in ["RETR a", "STOR b", "STOU", "APPE c", "LIST", "NLST", "MLSD"] {
            _ = machine.clientCommand(FTPCommand(line: line(verb)))
            #expect(machine.awaitsTransferReply, "\(verb)")
            _ = machine.serverReplyLine(line("150 Opening data connection."))
            #expect(machine.awaitsTransferReply, "\(verb) after its 150")
            _ = machine.serverReplyLine(line("226 Done."))
            #expect(!machine.awaitsTransferReply, "\(verb) answered")
        }
    }

    @Test("A command queued behind a transfer is awaited only once the transfer is answered.")
    func aCommandBehindATransferIsAwaitedAfterIt() {
        var machine = Self.greeted()
        _ = machine.clientCommand(FTPCommand(line: line("RETR a")))
        _ = machine.clientCommand(FTPCommand(line: line("NOOP")))
        #expect(machine.awaitsTransferReply)
        _ = machine.serverReplyLine(line("226 Done."))
        #expect(!machine.awaitsTransferReply && machine.outstandingReplies == 1)
        _ = machine.clientCommand(FTPCommand(line: line("PASV")))
        _ = machine.serverReplyLine(line("200 NOOP ok."))
        #expect(!machine.awaitsTransferReply && machine.outstandingReplies == 1)
    }
}
