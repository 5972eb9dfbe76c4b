/// The LM's token grid (docs/model.md §3.2): row 0 is the text channel (a text id on the first frame of
/// each group; the other frames are ignored), rows 1… are the audio channels. Each group of
/// `groupSize` columns is one LM position.
public struct TokenGrid: Sendable, Equatable, Codable {
    public var rows: [[Int]]

    public init(rows: [[Int]]) { self.rows = rows }

    public var columns: Int { rows.first?.count ?? 0 }

    public func groups(size: Int) -> Int { columns / size }

    /// Text id of group g.
    public func text(group g: Int, size: Int) -> Int { rows[0][g * size] }

    /// Columns `range` of every row.
    public func slice(_ range: Range<Int>) -> TokenGrid { TokenGrid(rows: rows.map { Array($0[range]) }) }

    public mutating func append(_ other: TokenGrid) {
        for r in rows.indices { rows[r] += other.rows[r] }
    }
}

public enum GridError: Error, CustomStringConvertible, Equatable {
    case wrongRowCount(found: Int, expected: Int)
    case raggedRows(row: Int, length: Int, expected: Int)
    case notWholeGroups(columns: Int, groupSize: Int)
    case empty
    case textOutOfRange(group: Int, id: Int, vocab: Int)
    case codeOutOfRange(channel: Int, column: Int, code: Int, vocab: Int)
    case tooLong(groups: Int, maximum: Int)
    case textInsideGroup(group: Int, column: Int, id: Int)

    public var description: String {
        switch self {
        case .wrongRowCount(let found, let expected):
            return "the token grid has \(found) rows, expected \(expected) (text + audio channels)"
        case .raggedRows(let row, let length, let expected):
            return "grid row \(row) has \(length) columns, row 0 has \(expected)"
        case .notWholeGroups(let columns, let size):
            return "the grid has \(columns) columns, not a multiple of the group size \(size)"
        case .empty: return "the token grid is empty"
        case .textOutOfRange(let group, let id, let vocab):
            return "text id \(id) of group \(group) is outside the vocabulary 0..<\(vocab)"
        case .codeOutOfRange(let channel, let column, let code, let vocab):
            return
                "audio code \(code) at channel \(channel), column \(column) is outside that channel's vocabulary 0..<\(vocab)"
        case .textInsideGroup(let group, let column, let id):
            return
                "text id \(id) at column \(column) is inside group \(group): a group's text id stands on its first column (the rest hold -100 or repeat it)"
        case .tooLong(let groups, let maximum):
            return "the sequence has \(groups) groups, more than max_position_embeddings (\(maximum))"
        }
    }
}

extension LMConfig {
    /// Checks a grid against this model: shape, text ids at group starts, audio codes per channel.
    public func validate(_ grid: TokenGrid) throws {
        guard grid.rows.count == gridRows else {
            throw GridError.wrongRowCount(found: grid.rows.count, expected: gridRows)
        }
        let n = grid.columns
        for (r, row) in grid.rows.enumerated() where row.count != n {
            throw GridError.raggedRows(row: r, length: row.count, expected: n)
        }
        guard n > 0 else { throw GridError.empty }
        guard n % groupSize == 0 else { throw GridError.notWholeGroups(columns: n, groupSize: groupSize) }
        let groups = n / groupSize
        guard groups <= maxPositions else { throw GridError.tooLong(groups: groups, maximum: maxPositions) }
        for g in 0..<groups {
            let id = grid.rows[0][g * groupSize]
            guard (0..<vocabSize).contains(id) else {
                throw GridError.textOutOfRange(group: g, id: id, vocab: vocabSize)
            }
            // The model reads only the first column; anything else there is a malformed grid.
            for c in (g * groupSize + 1)..<((g + 1) * groupSize) where grid.rows[0][c] != -100 && grid.rows[0][c] != id
            {
                throw GridError.textInsideGroup(group: g, column: c, id: grid.rows[0][c])
            }
        }
        for c in 0..<audioChannels {
            let vocab = speechVocabSizes[c]
            if let col = grid.rows[c + 1].firstIndex(where: { !(0..<vocab).contains($0) }) {
                throw GridError.codeOutOfRange(channel: c, column: col, code: grid.rows[c + 1][col], vocab: vocab)
            }
        }
    }
}
