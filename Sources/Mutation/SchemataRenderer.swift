/// Writes a file's mutation sites out as mutant schemata: every site behind its own switch,
/// `__agentosMutant(id)`, so one build holds every mutant and the unswitched binary behaves
/// exactly as the original. Sites nest (a comparison inside a condition inside a dropped
/// statement): each one's original and mutated code both carry the sites inside it.
struct SchemataRenderer {
    let text: [UInt8]
    /// Sorted outermost first: by start, then longest, then `rank`.
    let sites: [MutationSite]
    let ids: [Int]

    init(text: String, sites: [MutationSite], firstID: Int) {
        self.text = Array(text.utf8)
        self.sites = sites.sorted {
            ($0.range.lowerBound, -$0.range.count, $0.rank) < ($1.range.lowerBound, -$1.range.count, $1.rank)
        }
        ids = Array(firstID..<(firstID + sites.count))
    }

    static let switchName = "__agentosMutant"

    /// The whole file with every site switched in.
    func schemata() -> String { render(0..<text.count, from: 0) }

    /// The code at `range`, with the sites at index `first` or later that lie inside it. A site
    /// inside one already rendered starts before `position` and is passed over: the outer
    /// one rendered it, in both its copies.
    private func render(_ range: Range<Int>, from first: Int) -> String {
        var out = ""
        var position = range.lowerBound
        for index in first..<sites.count {
            let site = sites[index]
            guard site.range.lowerBound >= position, site.range.upperBound <= range.upperBound else { continue }
            // An insertion right at the end of a range belongs to the code after it.
            if site.range.isEmpty, site.range.lowerBound == range.upperBound, range.upperBound != text.count { continue }
            out += source(position..<site.range.lowerBound)
            out += rendered(index)
            position = site.range.upperBound
        }
        out += source(position..<range.upperBound)
        return out
    }

    private func rendered(_ index: Int) -> String {
        let site = sites[index]
        let id = ids[index]
        let original = render(site.range, from: index + 1)
        switch site.change {
        case .replace(let parts):
            let mutated = parts.map { part in
                switch part {
                case .text(let text): text
                case .source(let range): render(range, from: index + 1)
                }
            }.joined()
            return "(\(Self.switchName)(\(id)) ? (\(mutated)) : (\(original)))"
        case .drop:
            return "if !\(Self.switchName)(\(id)) { \(original) }"
        case .swap(let first, let second):
            let one = render(first, from: index + 1)
            let two = render(second, from: index + 1)
            return "if \(Self.switchName)(\(id)) { \(two)\n\(one) } else { \(one)\n\(two) }"
        case .insertReturn:
            return " if \(Self.switchName)(\(id)) { return }"
        }
    }

    /// The site's mutant alone, as a programmer would have written it: the diff's new code.
    func direct(_ index: Int) -> String {
        let site = sites[index]
        switch site.change {
        case .replace(let parts):
            return parts.map { part in
                switch part {
                case .text(let text): text
                case .source(let range): source(range)
                }
            }.joined()
        case .drop: return ""
        case .swap(let first, let second): return source(second) + "\n" + indentation(at: first.lowerBound) + source(first)
        case .insertReturn: return " return"
        }
    }

    /// The blanks before the code at `offset` on its line.
    func indentation(at offset: Int) -> String {
        var start = offset
        while start > 0, text[start - 1] == UInt8(ascii: " ") || text[start - 1] == UInt8(ascii: "\t") { start -= 1 }
        return source(start..<offset)
    }

    func source(_ range: Range<Int>) -> String { String(decoding: text[range], as: UTF8.self) }

    /// The lines the site touches, before and after the mutant alone.
    func diffLines(_ index: Int) -> (before: String, after: String) {
        let site = sites[index]
        var start = site.range.lowerBound
        while start > 0, text[start - 1] != UInt8(ascii: "\n") { start -= 1 }
        var end = site.range.upperBound
        while end < text.count, text[end] != UInt8(ascii: "\n") { end += 1 }
        let before = source(start..<end)
        let after = source(start..<site.range.lowerBound) + direct(index) + source(site.range.upperBound..<end)
        let blank = after.allSatisfy { $0 == " " || $0 == "\n" }
        return (before, blank ? "" : after)
    }
}
