import FTPBalancerConfig

extension PoolState {
    /// The server an operator names: by its name, which is its address as written when the
    /// file gives none. Retired servers are no longer anyone's to change.
    package func member(named name: String) -> Member? {
        self.members.first { !$0.retired && $0.configuration.name == name }
    }

    /// Changes a server's state or weight until the next reload; nil if it is not in the pool.
    /// A change back to the file's value ends the override rather than making another.
    /// Draining or disabling leaves running sessions alone, as the same change in the file does.
    package mutating func administer(id: Int, _ action: AdminAction) -> AdminChange? {
        guard let index = self.index(of: id), !self.members[index].retired else { return nil }
        let name = self.members[index].configuration.name
        switch action {
        case .setState(let state):
            let previous = self.members[index].configuration.state
            self.members[index].configuration.state = state
            let inFile = self.members[index].file.state
            self.members[index].adminOverride.state = state == inFile ? nil : state
            return AdminChange(server: name, setting: "state", from: previous.rawValue, to: state.rawValue)
        case .setWeight(let weight):
            let previous = self.members[index].configuration.weight
            self.members[index].configuration.weight = weight
            let inFile = self.members[index].file.weight
            self.members[index].adminOverride.weight = weight == inFile ? nil : weight
            // Smooth weighted round robin restarts from even, rather than paying off a debt
            // run up under the old weight.
            for member in self.members.indices { self.members[member].currentWeight = 0 }
            return AdminChange(server: name, setting: "weight", from: "\(previous)", to: "\(weight)")
        }
    }
}
