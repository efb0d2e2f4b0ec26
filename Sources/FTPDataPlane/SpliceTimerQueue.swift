#if os(Linux)

/// The timers of a splice event loop: every relay's idle timer and every listener's timeout.
/// A binary min-heap on the deadline, so that a loop with thousands of data connections does
/// not scan them all on every wakeup. Cancelling only forgets the action; the heap entry is
/// dropped when it reaches the top, or when stale entries outnumber live ones.
package struct SpliceTimerQueue<Action> {
    private struct Entry {
        var deadline: MonotonicTime
        var id: Int
    }

    private var heap: [Entry] = []
    private var actions: [Int: Action] = [:]
    private var nextID = 1

    package init() {}

    /// Timers scheduled and neither run nor cancelled.
    package var count: Int { self.actions.count }
    /// Entries in the heap, cancelled ones not yet dropped included.
    package var storedEntries: Int { self.heap.count }

    package mutating func schedule(at deadline: MonotonicTime, _ action: Action) -> Int {
        let id = self.nextID
        self.nextID += 1
        self.actions[id] = action
        self.push(Entry(deadline: deadline, id: id))
        return id
    }

    package mutating func cancel(_ id: Int) {
        guard self.actions.removeValue(forKey: id) != nil else { return }
        // Cancelled entries wait in the heap for their deadline; a relay's idle timer is minutes
        // away, so a busy loop rebuilds the heap rather than hold them all that long.
        if self.heap.count > 64, self.heap.count > 2 * self.actions.count {
            self.heap.removeAll { self.actions[$0.id] == nil }
            self.heapify()
        }
    }

    /// The deadline of the earliest timer still scheduled.
    package mutating func earliestDeadline() -> MonotonicTime? {
        self.dropCancelledTop()
        return self.heap.first?.deadline
    }

    /// Removes and returns the actions of the timers due at `now`, earliest first.
    package mutating func removeDue(at now: MonotonicTime) -> [Action] {
        var due: [Action] = []
        while let top = self.heap.first, top.deadline <= now {
            self.popTop()
            if let action = self.actions.removeValue(forKey: top.id) {
                due.append(action)
            }
        }
        return due
    }

    package mutating func removeAll() {
        self.heap = []
        self.actions = [:]
    }

    // MARK: Heap

    private mutating func dropCancelledTop() {
        while let top = self.heap.first, self.actions[top.id] == nil {
            self.popTop()
        }
    }

    private mutating func push(_ entry: Entry) {
        self.heap.append(entry)
        self.siftUp(self.heap.count - 1)
    }

    private mutating func popTop() {
        let last = self.heap.removeLast()
        guard !self.heap.isEmpty else { return }
        self.heap[0] = last
        self.siftDown(0)
    }

    private mutating func heapify() {
        for index in stride(from: self.heap.count / 2 - 1, through: 0, by: -1) {
            self.siftDown(index)
        }
    }

    private mutating func siftUp(_ start: Int) {
        var child = start
        while child > 0 {
            let parent = (child - 1) / 2
            guard self.heap[child].deadline < self.heap[parent].deadline else { return }
            self.heap.swapAt(child, parent)
            child = parent
        }
    }

    private mutating func siftDown(_ start: Int) {
        var parent = start
        while true {
            let left = 2 * parent + 1
            guard left < self.heap.count else { return }
            var smallest = left
            let right = left + 1
            if right < self.heap.count, self.heap[right].deadline < self.heap[left].deadline {
                smallest = right
            }
            guard self.heap[smallest].deadline < self.heap[parent].deadline else { return }
            self.heap.swapAt(parent, smallest)
            parent = smallest
        }
    }
}
#endif
