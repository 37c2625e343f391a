import Determinism

/// How sure a reproduced ratio is: a paired bootstrap over seeds.
///
/// Every row of an experiment runs the same seeds, so seed k of a row and seed k of its
/// baseline share the arrivals' draw and every stream the scenario change did not touch. A
/// resample draws seed indices with replacement and takes the ratio of the two rows' means
/// over the same indices, which keeps that pairing. The generator is seeded with a constant,
/// so the same runs always print the same interval.
public enum PairedBootstrap {
    public static let resamples = 2000
    /// The interval's coverage: the 2.5th and 97.5th percentiles of the resampled ratios.
    public static let coverage = 0.95
    public static let generatorSeed: UInt64 = 0x5EED_B007

    /// The 95 % interval of mean(numerator) / mean(denominator) over the seeds both hold;
    /// nil with fewer than two shared seeds or a zero denominator mean.
    public static func ratioInterval(_ numerator: [UInt64: Double], over denominator: [UInt64: Double]) -> ClosedRange<Double>? {
        let shared = numerator.keys.filter { denominator[$0] != nil }.sorted()
        guard shared.count >= 2 else { return nil }
        let top = shared.map { numerator[$0]! }, bottom = shared.map { denominator[$0]! }
        var generator = SplitMix64(state: generatorSeed)
        var ratios: [Double] = []
        ratios.reserveCapacity(resamples)
        for _ in 0..<resamples {
            var sumTop = 0.0, sumBottom = 0.0
            for _ in shared.indices {
                let index = Int(generator.next() % UInt64(shared.count))
                sumTop += top[index]
                sumBottom += bottom[index]
            }
            guard sumBottom > 0 else { return nil }
            ratios.append(sumTop / sumBottom)
        }
        ratios.sort()
        let tail = (1 - coverage) / 2
        let low = ratios[Int((Double(resamples) * tail).rounded(.down))]
        let high = ratios[min(resamples - 1, Int((Double(resamples) * (1 - tail)).rounded(.down)))]
        return low...high
    }
}
