import Testing
@testable import Core
import CoreTesting

@Suite("Epoch order and fencing rules")
struct EpochTests {
    func e(_ g: Int64, _ r: Int64) -> Epoch { Epoch(global: g, regional: r) }

    @Test("the order is lexicographic: global first, then regional")
    func lexicographicOrder() {
        #expect(e(1, 0) > e(0, 9))
        #expect(e(2, 3) > e(2, 2))
        #expect(!(e(2, 2) > e(2, 2)))
        #expect([e(1, 1), e(0, 5), e(1, 0), e(0, 0)].sorted() == [e(0, 0), e(0, 5), e(1, 0), e(1, 1)])
    }

    @Test("the seed README's four cases give its verdicts under the corrected order")
    func readmeCases() {
        // (0,1) stored, then (0,0): rejected.
        #expect(EpochRules.judgeClaim(e(0, 0), current: e(0, 1)) == .stale)
        // (1,2) over the initial epoch: accepted.
        #expect(EpochRules.judgeClaim(e(1, 2), current: .initial) == .applied)
        // (5,6) stored, then (4,3): rejected.
        #expect(EpochRules.judgeClaim(e(4, 3), current: e(5, 6)) == .stale)
        // (2,5) stored, then (2,2): rejected.
        #expect(EpochRules.judgeClaim(e(2, 2), current: e(2, 5)) == .stale)
    }

    @Test("claims must be strictly greater; data writes must equal the current epoch")
    func claimAndDataRules() {
        #expect(EpochRules.judgeClaim(e(3, 1), current: e(3, 1)) == .stale)
        #expect(EpochRules.judgeClaim(e(3, 2), current: e(3, 1)) == .applied)
        #expect(EpochRules.judgeDataWrite(e(3, 1), current: e(3, 1)) == .applied)
        #expect(EpochRules.judgeDataWrite(e(3, 0), current: e(3, 1)) == .stale)
        #expect(EpochRules.judgeDataWrite(e(3, 2), current: e(3, 1)) == .stale)
    }

    @Test("the gateway's and the region's claims step the right component")
    func nextClaims() {
        #expect(e(4, 7).nextRegionClaim == e(5, 0))
        #expect(e(4, 7).nextProxyClaim == e(4, 8))
        #expect(e(4, 7).nextRegionClaim > e(4, 7))
        #expect(e(4, 7).nextProxyClaim > e(4, 7))
    }
}

@Suite("Typed identities")
struct IdentityTests {
    @Test("roles round-trip through their addresses, and anything else is not a role")
    func roles() {
        for role in [Role.store, .gateway, .region(3), .proxy(region: 2, index: 11), .llm(1), .client(40)] {
            #expect(Role(role.address) == role)
        }
        for bad in ["", "proxy-1", "proxy-1-0", "region-x", "llm", "client--1", "store-1", "proxy-1-2-3", "fake-llm"] {
            #expect(Role(name: bad) == nil, "\(bad)")
        }
    }

    @Test("an owner is a proxy life, written proxy#incarnation in the store")
    func owners() {
        let owner = Owner(proxy: "proxy-1-2", incarnation: 7)
        #expect(owner.description == "proxy-1-2#7")
        #expect(Owner("proxy-1-2#7") == owner)
        for bad in ["", "proxy-1-2", "#7", "proxy-1-2#", "proxy-1-2#x"] { #expect(Owner(bad) == nil, "\(bad)") }
    }
}
