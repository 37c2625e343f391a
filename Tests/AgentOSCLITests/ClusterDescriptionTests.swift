import Core
import FakeLLM
import Foundation
import Scenarios
import Server
import Testing

/// One cluster description: the simulator and `serve` build every role from the same `ClusterSpec`.
@Suite("One cluster description, two shells")
struct ClusterDescriptionTests {
    /// The settings the simulator hands each role, captured through the role overrides.
    final class Captured {
        var gateway: GatewaySettings?
        var regions: [Address: RegionSettings] = [:]
        var proxies: [Address: ProxySettings] = [:]
    }

    func simulatorSettings(_ scenario: Scenario) throws -> Captured {
        let captured = Captured()
        let overrides = RoleOverrides(
            gateway: { settings, incarnation in
                captured.gateway = settings
                return Gateway(settings: settings, incarnation: incarnation)
            },
            proxy: { settings, incarnation in
                captured.proxies[settings.proxy] = settings
                return AgentProxy(settings: settings, incarnation: incarnation)
            },
            region: { settings, incarnation in
                captured.regions[settings.region] = settings
                return RegionalCoordinator(settings: settings, incarnation: incarnation)
            })
        _ = try ScenarioRun(scenario: scenario, seed: 1, overrides: overrides).execute()
        return captured
    }

    func serveOptions(_ layout: ClusterLayout) -> ServeOptions {
        ServeOptions(
            host: "127.0.0.1", port: 0, layout: layout, roles: layout.roleNames, dataDirectory: NSTemporaryDirectory(), llmURLs: [], llmModel: "m",
            llmKey: nil, fakeLLM: FakeLLMProfile.perfect.config, fakeLLMSeed: 1, speedup: 1)
    }

    @Test("a default serve and the simulation of one are the same cluster, role by role")
    func defaultServeMatchesTheSimulation() throws {
        let layout = ClusterLayout.singleProcess(
            ClusterSpec(
                regions: ClusterSpec.serveDefault.regions, proxiesPerRegion: ClusterSpec.serveDefault.proxiesPerRegion, checkpoints: .perRound),
            url: "http://127.0.0.1:1")
        // Serve checkpoints every round, as the reference does; a scenario says so in its policies.
        var scenario = ScenarioLibrary.smoke
        scenario.reshape(like: .serveDefault)
        scenario.cluster.checkpoints = .perRound
        #expect(layout.spec == scenario.cluster)
        #expect(layout.spec == ClusterSpec.serveDefault)
    }

    @Test("a non-default description gives serve and the simulator identical gateway, region and proxy settings")
    func everyRoleMatches() throws {
        let spec = ClusterSpec(
            regions: 3, proxiesPerRegion: 2, scheduling: .sjf, balancing: .random, voting: .earlyMajority, workerConcurrency: 7, workerQueue: 5,
            openTasksMax: 9)
        let layout = ClusterLayout(spec: spec, urls: Dictionary(uniqueKeysWithValues: spec.roleNames.map { ($0, "http://127.0.0.1:1") }))
        #expect(layout.spec == spec)
        var scenario = ScenarioLibrary.smoke
        scenario.cluster = spec

        let simulated = try simulatorSettings(scenario)
        let options = serveOptions(layout)
        let gateway = try #require(try ServeHost.machine(for: "gateway", options: options, incarnation: 1) as? Gateway)
        #expect(simulated.gateway == gateway.settings)
        #expect(gateway.settings.openTasksMax == 9)
        for region in spec.regionNames {
            let real = try #require(try ServeHost.machine(for: region, options: options, incarnation: 1) as? RegionalCoordinator)
            #expect(simulated.regions[region] == real.settings)
        }
        for proxy in spec.proxyNames {
            let real = try #require(try ServeHost.machine(for: proxy, options: options, incarnation: 1) as? AgentProxy)
            #expect(simulated.proxies[proxy] == real.settings, "\(proxy)")
            #expect(real.settings.worker.concurrency == 7 && real.settings.worker.queueCapacity == 5 && real.settings.voting == .earlyMajority)
        }
    }
}
