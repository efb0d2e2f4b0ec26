/// Rows of text in aligned columns, as `ftplb show` prints them: two spaces between columns,
/// numbers aligned right, the last column not padded.
package struct Table: Equatable, Sendable {
    package var headers: [String]
    package var rows: [[String]] = []
    /// Columns whose cells are aligned to the right.
    package var numeric: Set<Int> = []
    /// Printed below the rows, for a mark used in them.
    package var footnote: String?
    /// Printed instead of rows when there are none.
    package var empty = "(none)"

    package init(headers: [String], numeric: Set<Int> = [], footnote: String? = nil, empty: String = "(none)") {
        self.headers = headers
        self.numeric = numeric
        self.footnote = footnote
        self.empty = empty
    }

    package var text: String {
        let all = [self.headers] + self.rows
        let widths = self.headers.indices.map { column in
            all.map { $0.indices.contains(column) ? $0[column].count : 0 }.max() ?? 0
        }
        var lines = all.map { cells in
            var line = ""
            for (column, cell) in cells.enumerated() {
                let last = column == cells.count - 1
                let padding = String(repeating: " ", count: widths[column] - cell.count)
                if self.numeric.contains(column) {
                    line += padding + cell
                } else {
                    line += last ? cell : cell + padding
                }
                if !last { line += "  " }
            }
            return line
        }
        if self.rows.isEmpty { lines.append(self.empty) }
        if let footnote = self.footnote { lines.append(footnote) }
        return lines.joined(separator: "\n")
    }
}

/// How numbers read in a table.
package enum Human {
    /// `512 B`, `8.3 MiB`.
    package static func bytes(_ count: Int) -> String {
        let units = ["KiB", "MiB", "GiB", "TiB"]
        guard count >= 1024 else { return "\(count) B" }
        var value = Double(count) / 1024
        var unit = 0
        while value >= 1024, unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return Self.oneDecimal(value) + " " + units[unit]
    }

    /// `3s`, `2m05s`, `1h02m`.
    package static func duration(_ seconds: Double) -> String {
        let whole = Int(seconds)
        if whole < 60 { return "\(whole)s" }
        if whole < 3600 { return "\(whole / 60)m" + Self.twoDigits(whole % 60) + "s" }
        return "\(whole / 3600)h" + Self.twoDigits(whole / 60 % 60) + "m"
    }

    package static func oneDecimal(_ value: Double) -> String {
        let tenths = Int((value * 10).rounded())
        return "\(tenths / 10).\(tenths % 10)"
    }

    private static func twoDigits(_ value: Int) -> String {
        value < 10 ? "0\(value)" : "\(value)"
    }
}
