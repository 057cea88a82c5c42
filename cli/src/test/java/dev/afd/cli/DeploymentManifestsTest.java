package dev.afd.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.afd.attention.AttentionNode;
import dev.afd.attention.engine.EngineOptions;
import dev.afd.cli.Manifests.Workload;
import dev.afd.ffn.FfnServer;
import dev.afd.ffn.core.ExpertRange;
import dev.afd.gateway.Gateway;
import dev.afd.gateway.GatewayOptions;
import dev.afd.gateway.routing.Resolver;
import dev.afd.model.generator.ModelGenerator;
import dev.afd.model.generator.ModelPreset;
import dev.afd.model.safetensors.Checkpoint;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine;

/**
 * The Kubernetes manifests (every overlay, rendered by {@code deploy/check.sh}) against what the code serves: each
 * container's command line, as the image's entry point passes it on, parses as the afd sub-command with the
 * environment the pod gets; ports, probes, Services and policies point at the ports those commands listen
 * on; the gateway answers the probe paths; the ffn groups each hold every expert, a disruption budget keeps a copy
 * of every expert, and the attention nodes find the ffn-nodes through DNS.
 */
class DeploymentManifestsTest {
    /** How long the attention node's server gives running calls when it stops ({@code AttentionServer.close}). */
    private static final int ATTENTION_CLOSE_S = 5;
    /** Variables the image's entry point reads itself; they must not be taken for options. */
    private static final Set<String> ENTRYPOINT_VARIABLES = Set.of("AFD_JAVA_OPTS");
    /** Who may open connections to whom; the gateway's HTTP port is open to all. */
    private static final Map<String, Set<String>> CALLERS = Map.of("attention", Set.of("gateway"), "ffn",
            Set.of("attention"));
    private static final List<String> ROLES = List.of("gateway", "attention", "ffn");

    @TempDir
    static Path work;

    static Path repo;
    static List<Manifests> variants;
    static Path tiny;

    /** One container as it starts: its manifest, the environment it sees, and the parsed afd command. */
    record Launch(Workload workload, JsonNode container, Map<String, String> env, List<String> args, CommandSpec spec) {
        Object command() {
            return spec.userObject();
        }
    }

    @BeforeAll
    static void render() throws Exception {
        repo = Path.of("").toAbsolutePath();
        while (!Files.exists(repo.resolve("deploy/check.sh"))) {
            repo = repo.getParent();
            assertThat(repo).as("the repository root (with deploy/check.sh) above the working directory").isNotNull();
        }
        variants = Manifests.load(repo, work);
        tiny = work.resolve("tiny");
        ModelGenerator.generate(ModelPreset.TINY.config(false), ModelGenerator.Options.defaults(), tiny);
    }

    static Stream<Manifests> variants() {
        return variants.stream();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("variants")
    void everyContainerRunsAnAfdCommandWithOptionsItHasInEveryPod(Manifests m) throws Exception {
        Set<String> images = new TreeSet<>();
        for (Workload w : m.workloads()) {
            for (JsonNode c : allContainers(w)) {
                images.add(c.path("image").asText());
                for (String host : w.podHostNames()) {
                    launch(m, w, c, host);
                }
            }
        }
        assertThat(images).as("%s: one image for every role", m).hasSize(1);
        assertThat(m.workloads().stream().map(w -> Manifests.role(w.containers().getFirst())))
                .containsExactlyInAnyOrderElementsOf(ROLES);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("variants")
    void portsProbesAndServicesUseThePortsTheProcessesListenOn(Manifests m) throws Exception {
        for (Workload w : m.workloads()) {
            JsonNode c = w.containers().getFirst();
            Launch l = launch(m, w, c, w.podHostNames().getFirst());
            int port = listeningPort(l.command());
            assertThat(Manifests.list(c.path("ports")).stream().map(p -> p.path("containerPort").asInt()))
                    .as("%s %s: container ports", m, w.name())
                    .containsExactlyInAnyOrderElementsOf(new TreeSet<>(List.of(port, metricsPort(l.command()))));
            JsonNode annotations = w.object().path("spec").path("template").path("metadata").path("annotations");
            assertThat(resolvePort(c, annotations.path("prometheus.io/port"))).as("%s %s scrape port", m, w.name())
                    .isEqualTo(metricsPort(l.command()));
            for (String probe : List.of("startupProbe", "readinessProbe", "livenessProbe")) {
                JsonNode p = c.path(probe);
                assertThat(p.isObject()).as("%s %s has a %s", m, w.name(), probe).isTrue();
                JsonNode handler = p.has("httpGet") ? p.get("httpGet") : p.has("tcpSocket") ? p.get("tcpSocket")
                        : p.get("grpc");
                assertThat(handler).as("%s %s %s: httpGet, tcpSocket or grpc", m, w.name(), probe).isNotNull();
                assertThat(resolvePort(c, handler.path("port"))).as("%s %s %s port", m, w.name(), probe)
                        .isEqualTo(port);
                // The nodes register their health under the empty service name.
                assertThat(handler.path("service").asText("")).isEmpty();
            }
            if (l.command() instanceof AttentionCommand) {
                // NOT_SERVING while an ffn-node is missing: that must stop traffic, not restart the node.
                assertThat(c.path("livenessProbe").has("grpc")).as("%s attention liveness is not gRPC health", m)
                        .isFalse();
            }
        }
        for (JsonNode svc : m.ofKind("Service")) {
            List<Workload> pods = m.selectedBy(svc.path("spec").path("selector"));
            assertThat(pods).as("%s Service %s selects pods", m, name(svc)).isNotEmpty();
            for (JsonNode p : Manifests.list(svc.path("spec").path("ports"))) {
                for (Workload w : pods) {
                    JsonNode c = w.containers().getFirst();
                    assertThat(resolvePort(c, p.path("targetPort").isMissingNode() ? p.path("port")
                            : p.path("targetPort"))).as("%s Service %s targetPort", m, name(svc))
                            .isEqualTo(listeningPort(launch(m, w, c, w.podHostNames().getFirst()).command()));
                }
            }
        }
        Set<String> monitored = new TreeSet<>();
        for (JsonNode monitor : m.ofKind("PodMonitor")) {
            for (Workload w : m.selectedBy(monitor.path("spec").path("selector").path("matchLabels"))) {
                JsonNode c = w.containers().getFirst();
                int metrics = metricsPort(launch(m, w, c, w.podHostNames().getFirst()).command());
                for (JsonNode e : Manifests.list(monitor.path("spec").path("podMetricsEndpoints"))) {
                    assertThat(resolvePort(c, e.path("port"))).as("%s PodMonitor %s port", m, name(monitor))
                            .isEqualTo(metrics);
                }
                monitored.add(Manifests.role(c));
            }
        }
        if (!m.ofKind("PodMonitor").isEmpty()) {
            assertThat(monitored).as("%s: tiers with a PodMonitor", m).containsExactlyInAnyOrderElementsOf(ROLES);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("variants")
    void ffnGroupsHoldEveryExpertAndAttentionNodesAndGatewaysFindTheirPeersByDns(Manifests m) throws Exception {
        Workload ffn = m.workload("ffn");
        Workload attention = m.workload("attention");
        Workload gateway = m.workload("gateway");
        int ffnPort = listeningPort(launch(m, ffn, ffn.containers().getFirst(), ffn.podHostNames().getFirst())
                .command());
        int attentionPort = listeningPort(launch(m, attention, attention.containers().getFirst(),
                attention.podHostNames().getFirst()).command());

        int experts;
        try (Checkpoint checkpoint = Checkpoint.open(tiny)) {
            experts = checkpoint.config().numExperts();
        }
        // Each pod's experts as afd ffn derives them from its ordinal: the pods are scaled, never listed one by one.
        Map<String, ExpertRange> ranges = new LinkedHashMap<>();
        Set<Integer> groupSizes = new TreeSet<>();
        for (String host : ffn.podHostNames()) {
            FfnCommand f = (FfnCommand) launch(m, ffn, ffn.containers().getFirst(), host).command();
            assertThat(f.experts).as("%s %s: experts from the group, not fixed", m, host).isNull();
            assertThat(f.groupSize).as("%s %s: --group-size", m, host).isNotNull();
            groupSizes.add(f.groupSize);
            ranges.put(host, GroupExperts.of(GroupExperts.ordinal(host), f.groupSize, experts));
        }
        assertThat(groupSizes).as("%s: one group size", m).hasSize(1);
        int groupSize = groupSizes.iterator().next();
        assertThat(ffn.replicas() % groupSize).as("%s: ffn replicas %d are whole groups of %d", m, ffn.replicas(),
                groupSize).isZero();
        List<ExpertRange> all = List.copyOf(ranges.values());
        for (int group = 0; group < ffn.replicas() / groupSize; group++) {
            assertCoversEveryExpertOnce(all.subList(group * groupSize, (group + 1) * groupSize), experts,
                    m + " ffn group " + group);
        }
        // Voluntary disruptions (drains, upgrades) must leave a copy of every expert.
        JsonNode budget = m.ofKind("PodDisruptionBudget").stream()
                .filter(b -> ffn.selectedBy(b.path("spec").path("selector").path("matchLabels"))).findFirst()
                .orElseThrow(() -> new AssertionError(m + ": no PodDisruptionBudget for the ffn pods"));
        assertThat(budget.path("spec").path("maxUnavailable").asInt()).as("%s ffn maxUnavailable", m).isEqualTo(1);
        for (String down : ranges.keySet()) {
            Set<Integer> covered = new TreeSet<>();
            ranges.forEach((host, r) -> {
                if (!host.equals(down)) {
                    IntStream.rangeClosed(r.first(), r.last()).forEach(covered::add);
                }
            });
            assertThat(covered).as("%s: experts served while %s is disrupted", m, down).hasSize(experts);
        }

        String ffnService = ffn.object().path("spec").path("serviceName").asText();
        JsonNode headless = service(m, ffnService);
        assertThat(headless.path("spec").path("publishNotReadyAddresses").asBoolean())
                .as("%s: only ready ffn-nodes are members; a draining one leaves", m).isFalse();
        assertThat(m.selectedBy(headless.path("spec").path("selector"))).containsExactly(ffn);
        for (String host : attention.podHostNames()) {
            AttentionCommand a = (AttentionCommand) launch(m, attention, attention.containers().getFirst(), host)
                    .command();
            // A headless Service hands out pod addresses: the port must be the container's, not a Service port.
            assertThat(a.ffn).as("%s %s finds every ffn pod through the headless Service", m, host)
                    .containsExactly(ffnService + ":" + ffnPort);
        }

        GatewayCommand g = (GatewayCommand) launch(m, gateway, gateway.containers().getFirst(),
                gateway.podHostNames().getFirst()).command();
        assertThat(g.attentionDns).as("%s: the gateway finds attention nodes by DNS", m).isNotNull();
        String[] dns = g.attentionDns.split(":");
        JsonNode attentionService = service(m, dns[0]);
        assertThat(m.selectedBy(attentionService.path("spec").path("selector"))).containsExactly(attention);
        assertThat(attentionService.path("spec").path("publishNotReadyAddresses").asBoolean())
                .as("%s: only ready attention nodes get traffic", m).isFalse();
        // A headless Service hands out pod addresses: the port must be the container's, not a Service port.
        assertThat(Integer.parseInt(dns[1])).as("%s --attention-dns port", m).isEqualTo(attentionPort);
        assertThat(attention.object().path("spec").path("serviceName").asText()).isEqualTo(dns[0]);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("variants")
    void environmentVariablesNameOptionsOfTheRolesThatReadThem(Manifests m) {
        CommandLine cl = Main.commandLine();
        Map<String, Set<String>> optionVariables = new HashMap<>();
        for (String role : List.of("gateway", "attention", "ffn", "make-model")) {
            optionVariables.put(role, optionVariables(cl.getSubcommands().get(role).getCommandSpec()));
        }
        optionVariables.values().forEach(vars -> assertThat(vars).doesNotContainAnyElementsOf(ENTRYPOINT_VARIABLES));
        Map<String, Set<String>> configMapReaders = new LinkedHashMap<>();
        for (Workload w : m.workloads()) {
            for (JsonNode c : allContainers(w)) {
                String role = Manifests.role(c);
                for (JsonNode e : Manifests.list(c.path("env"))) {
                    String name = e.path("name").asText();
                    if (name.startsWith("AFD_") && !ENTRYPOINT_VARIABLES.contains(name)) {
                        assertThat(optionVariables.get(role)).as("%s %s: %s names an option of afd %s", m, w.name(),
                                name, role).contains(name);
                    }
                }
                for (JsonNode from : Manifests.list(c.path("envFrom"))) {
                    configMapReaders.computeIfAbsent(from.path("configMapRef").path("name").asText(),
                            k -> new HashSet<>()).add(role);
                }
            }
        }
        configMapReaders.forEach((configMap, roles) -> m.find("ConfigMap", configMap).orElseThrow().path("data")
                .properties().stream().map(Map.Entry::getKey).filter(k -> !ENTRYPOINT_VARIABLES.contains(k))
                .forEach(k -> assertThat(roles.stream().anyMatch(r -> optionVariables.get(r).contains(k)))
                        .as("%s ConfigMap %s: %s names an option of one of %s", m, configMap, k, roles).isTrue()));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("variants")
    void gracePeriodsOutlastPreStopAndDrain(Manifests m) throws Exception {
        for (Workload w : m.workloads()) {
            JsonNode c = w.containers().getFirst();
            Object command = launch(m, w, c, w.podHostNames().getFirst()).command();
            int drain = switch (command) {
                case GatewayCommand g -> g.drainTimeoutS;
                case AttentionCommand a -> ATTENTION_CLOSE_S;
                case FfnCommand f -> f.drainTimeoutS + (int) FfnServer.CLOSE_GRACE.toSeconds();
                default -> throw new AssertionError("unexpected role " + command);
            };
            JsonNode preStop = c.path("lifecycle").path("preStop");
            assertThat(preStop.isObject()).as("%s %s has a preStop hook", m, w.name()).isTrue();
            int sleep = preStop.has("sleep") ? preStop.path("sleep").path("seconds").asInt()
                    : Integer.parseInt(preStop.path("exec").path("command").path(1).asText());
            assertThat(preStop.path("exec").path("command").path(0).asText("sleep")).isEqualTo("sleep");
            assertThat(w.podSpec().path("terminationGracePeriodSeconds").asInt(30))
                    .as("%s %s: grace period > preStop %d s + drain %d s", m, w.name(), sleep, drain)
                    .isGreaterThan(sleep + drain);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("variants")
    void podsMountTheModelReadOnlyRunAsTheImageUserAndHaveLimits(Manifests m) throws Exception {
        int imageUid = imageUid();
        for (Workload w : m.workloads()) {
            JsonNode pod = w.podSpec();
            assertThat(pod.path("securityContext").path("runAsNonRoot").asBoolean()).isTrue();
            assertThat(pod.path("securityContext").path("runAsUser").asInt()).as("%s %s uid", m, w.name())
                    .isEqualTo(imageUid);
            for (JsonNode c : allContainers(w)) {
                for (String kind : List.of("requests", "limits")) {
                    for (String resource : List.of("cpu", "memory")) {
                        assertThat(c.path("resources").path(kind).has(resource))
                                .as("%s %s/%s %s.%s", m, w.name(), c.path("name").asText(), kind, resource).isTrue();
                    }
                }
                assertThat(c.path("securityContext").path("readOnlyRootFilesystem").asBoolean()).isTrue();
                // The entry point unpacks native libraries under /tmp.
                assertThat(w.volume(mount(c, "/tmp").path("name").asText()).has("emptyDir")).isTrue();
                JsonNode gpu = c.path("resources").path("limits").path("nvidia.com/gpu");
                if (!gpu.isMissingNode()) {
                    Launch l = launch(m, w, c, w.podHostNames().getFirst());
                    assertThat(l.command()).as("%s: only ffn-nodes use GPUs", m).isInstanceOf(FfnCommand.class);
                    assertThat(((FfnCommand) l.command()).backend).isNotEqualTo("cpu");
                    assertThat(c.path("resources").path("requests").path("nvidia.com/gpu").asInt())
                            .isEqualTo(gpu.asInt());
                }
            }
            JsonNode c = w.containers().getFirst();
            Launch l = launch(m, w, c, w.podHostNames().getFirst());
            String model = rawModelPath(l);
            JsonNode modelMount = Manifests.list(c.path("volumeMounts")).stream()
                    .filter(v -> model.startsWith(v.path("mountPath").asText() + "/")).findFirst()
                    .orElseThrow(() -> new AssertionError(m + " " + w.name() + ": model " + model
                            + " is on no volume"));
            assertThat(modelMount.path("readOnly").asBoolean()).as("%s %s model mount read-only", m, w.name())
                    .isTrue();
            JsonNode volume = w.volume(modelMount.path("name").asText());
            if (volume.has("persistentVolumeClaim")) {
                assertThat(volume.path("persistentVolumeClaim").path("readOnly").asBoolean()).isTrue();
            } else {
                // Filled in the pod: some init container must write exactly this model.
                assertThat(w.initContainers().stream().map(i -> outputOf(m, w, i))).as("%s %s: who writes %s", m,
                        w.name(), model).contains(model);
            }
            if (!(l.command() instanceof GatewayCommand)) {
                JsonNode shm = w.volume(mount(c, "/dev/shm").path("name").asText());
                assertThat(shm.path("emptyDir").path("medium").asText()).as("%s %s /dev/shm", m, w.name())
                        .isEqualTo("Memory");
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("variants")
    void autoscalersAndNetworkPoliciesTargetTheRightPods(Manifests m) throws Exception {
        for (JsonNode hpa : m.ofKind("HorizontalPodAutoscaler")) {
            JsonNode ref = hpa.path("spec").path("scaleTargetRef");
            assertThat(m.find(ref.path("kind").asText(), ref.path("name").asText())).as("%s HPA %s target", m,
                    name(hpa)).isPresent();
        }
        for (JsonNode pdb : m.ofKind("PodDisruptionBudget")) {
            assertThat(m.selectedBy(pdb.path("spec").path("selector").path("matchLabels"))).as("%s PDB %s selects"
                    + " pods", m, name(pdb)).hasSize(1);
        }
        Map<String, Workload> byRole = new HashMap<>();
        ROLES.forEach(r -> byRole.put(r, m.workload(r)));
        for (String role : ROLES) {
            Workload target = byRole.get(role);
            Object command = launch(m, target, target.containers().getFirst(), target.podHostNames().getFirst())
                    .command();
            int port = listeningPort(command);
            List<JsonNode> policies = m.ofKind("NetworkPolicy").stream()
                    .filter(p -> target.selectedBy(p.path("spec").path("podSelector").path("matchLabels"))).toList();
            assertThat(policies).as("%s: a NetworkPolicy for %s", m, role).isNotEmpty();
            for (JsonNode p : policies) {
                for (JsonNode rule : Manifests.list(p.path("spec").path("ingress"))) {
                    // From anywhere, only the metrics port (the gateway's is its API port); from peers, the role's.
                    assertThat(Manifests.list(rule.path("ports")).stream().map(x -> x.path("port").asInt()))
                            .as("%s policy %s ports", m, name(p))
                            .containsExactly(rule.has("from") ? port : metricsPort(command));
                    Set<String> from = new TreeSet<>();
                    for (JsonNode peer : Manifests.list(rule.path("from"))) {
                        assertThat(peer.has("podSelector")).as("%s policy %s: pods only", m, name(p)).isTrue();
                        m.selectedBy(peer.path("podSelector").path("matchLabels")).forEach(
                                w -> from.add(Manifests.role(w.containers().getFirst())));
                    }
                    if (CALLERS.containsKey(role) && rule.has("from")) {
                        assertThat(from).as("%s: who may reach %s", m, role).isEqualTo(CALLERS.get(role));
                    }
                }
            }
        }
    }

    /**
     * Every tier has a disruption budget that lets drains take one of its pods at a time, and spreads its pods over
     * hosts and zones, counting only its own pods: a constraint whose selector also matched another tier would
     * spread the wrong set.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("variants")
    void everyTierHasADisruptionBudgetAndSpreadsOverHostsAndZones(Manifests m) {
        for (String role : ROLES) {
            Workload w = m.workload(role);
            List<JsonNode> budgets = m.ofKind("PodDisruptionBudget").stream()
                    .filter(pdb -> w.selectedBy(pdb.path("spec").path("selector").path("matchLabels"))).toList();
            assertThat(budgets).as("%s: PodDisruptionBudgets of %s", m, role).hasSize(1);
            assertThat(budgets.getFirst().path("spec").path("maxUnavailable").asInt()).as("%s %s", m, role)
                    .isEqualTo(1);
            Map<String, JsonNode> byKey = new HashMap<>();
            for (JsonNode c : Manifests.list(w.podSpec().path("topologySpreadConstraints"))) {
                byKey.put(c.path("topologyKey").asText(), c);
                assertThat(m.selectedBy(c.path("labelSelector").path("matchLabels")))
                        .as("%s %s: spread over its own pods", m, role).containsExactly(w);
                // Preferred only: a hard constraint leaves pods pending on a full node or in a one-zone cluster.
                assertThat(c.path("whenUnsatisfiable").asText()).as("%s %s", m, role).isEqualTo("ScheduleAnyway");
                assertThat(c.path("maxSkew").asInt()).as("%s %s", m, role).isEqualTo(1);
            }
            assertThat(byKey).as("%s %s: spread keys", m, role)
                    .containsOnlyKeys("kubernetes.io/hostname", "topology.kubernetes.io/zone");
        }
    }

    /**
     * The gateway answers its startup and liveness paths with 200 even with no attention node ready (so an outage
     * of the backends does not restart it), its readiness path with 200 only once a node is ready, and its scrape
     * path with the metrics the autoscalers use.
     */
    @Test
    void gatewayAnswersItsProbePathsAndTheTiersExportTheAutoscalingMetrics() throws Exception {
        Set<String> alive = new TreeSet<>();
        Set<String> ready = new TreeSet<>();
        Set<String> scrape = new TreeSet<>();
        Set<String> metrics = new TreeSet<>();
        // The attention HPA's external metric, which prometheus-adapter sums over the attention pods.
        String waiting = "vllm:num_requests_waiting";
        for (Manifests m : variants) {
            Workload w = m.workload("gateway");
            JsonNode c = w.containers().getFirst();
            alive.add(c.path("startupProbe").path("httpGet").path("path").asText());
            alive.add(c.path("livenessProbe").path("httpGet").path("path").asText());
            ready.add(c.path("readinessProbe").path("httpGet").path("path").asText());
            scrape.add(w.object().path("spec").path("template").path("metadata").path("annotations")
                    .path("prometheus.io/path").asText());
            for (JsonNode monitor : m.ofKind("PodMonitor")) {
                Manifests.list(monitor.path("spec").path("podMetricsEndpoints"))
                        .forEach(e -> scrape.add(e.path("path").asText()));
            }
            for (JsonNode hpa : m.ofKind("HorizontalPodAutoscaler")) {
                if (hpa.path("spec").path("scaleTargetRef").path("name").asText().equals(w.name())) {
                    Manifests.list(hpa.path("spec").path("metrics")).stream().filter(x -> x.has("pods"))
                            .forEach(x -> metrics.add(x.path("pods").path("metric").path("name").asText()));
                }
            }
        }
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
        GatewayOptions options = GatewayOptions.builder().address("127.0.0.1", 0)
                .intervals(Duration.ofMillis(50), Duration.ofSeconds(5)).build();
        try (Gateway lonely = Gateway.start(options, tiny, null, Resolver.fixed(List.of("127.0.0.1:" + freePort())))) {
            for (String path : alive) {
                assertThat(get(http, lonely.port(), path).statusCode()).as("GET %s without nodes", path)
                        .isEqualTo(200);
            }
            for (String path : ready) {
                assertThat(get(http, lonely.port(), path).statusCode()).as("GET %s without nodes", path)
                        .isEqualTo(503);
            }
        }
        try (Checkpoint checkpoint = Checkpoint.open(tiny);
                AttentionNode node = AttentionNode.inProcess(checkpoint, 2, AttentionNode.Wire.exact(),
                        EngineOptions.defaults().withKvMemory(16L << 20))) {
            node.serve("127.0.0.1", 0);
            int nodeMetrics = node.serveMetrics("127.0.0.1", 0).port();
            try (Gateway gateway = Gateway.start(options, tiny, null,
                    Resolver.fixed(List.of("127.0.0.1:" + node.server().port())))) {
                for (String path : ready) {
                    long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
                    while (get(http, gateway.port(), path).statusCode() != 200 && System.nanoTime() < end) {
                        Thread.sleep(50);
                    }
                    assertThat(get(http, gateway.port(), path).statusCode()).as("GET %s with a node", path)
                            .isEqualTo(200);
                }
                for (String path : scrape) {
                    HttpResponse<String> r = get(http, gateway.port(), path);
                    assertThat(r.statusCode()).as("GET %s", path).isEqualTo(200);
                    for (String metric : metrics) {
                        assertThat(r.body()).as("the gateway's %s exports %s", path, metric)
                                .containsPattern("(?m)^" + Pattern.quote(metric) + "[{ ]");
                    }
                    // Repeated by the gateways, the sum over pods would count the queue once per gateway more.
                    assertThat(r.body()).as("the gateway's %s", path).doesNotContain(waiting);
                    HttpResponse<String> n = get(http, nodeMetrics, path);
                    assertThat(n.statusCode()).as("GET %s on the attention node", path).isEqualTo(200);
                    assertThat(n.body()).as("the attention node's %s exports %s", path, waiting)
                            .containsPattern("(?m)^" + Pattern.quote(waiting) + "[{ ]");
                }
            }
        }
    }

    private static void assertCoversEveryExpertOnce(List<ExpertRange> ranges, int experts, String what) {
        List<ExpertRange> sorted = new ArrayList<>(ranges);
        sorted.sort(Comparator.comparingInt(ExpertRange::first));
        int next = 0;
        for (ExpertRange r : sorted) {
            assertThat(r.first()).as("%s: ranges %s are contiguous from expert 0", what, sorted).isEqualTo(next);
            next = r.last() + 1;
        }
        assertThat(next).as("%s: ranges %s cover all %d experts", what, sorted, experts).isEqualTo(experts);
    }

    /**
     * Starts a container's command as its pod would, up to the JVM: the image's entry point in dry-run mode with the
     * pod's host name and environment (model paths moved under the test's folder, holding the tiny model's config),
     * then parses the afd arguments it produced with that environment as option defaults.
     */
    private static Launch launch(Manifests m, Workload w, JsonNode c, String host) throws Exception {
        Map<String, String> env = new LinkedHashMap<>();
        m.environment(c).forEach((k, v) -> env.put(k, relocate(v)));
        List<String> args = Manifests.list(c.path("args")).stream().map(a -> {
            int eq = a.asText().indexOf('=');
            return eq < 0 ? a.asText() : a.asText().substring(0, eq + 1) + relocate(a.asText().substring(eq + 1));
        }).toList();
        for (String v : env.values()) {
            if (v.startsWith(work.resolve("root").toString()) && !Files.exists(Path.of(v, "config.json"))) {
                Files.createDirectories(Path.of(v));
                Files.copy(tiny.resolve("config.json"), Path.of(v, "config.json"));
            }
        }
        List<String> command = new ArrayList<>(List.of("bash", repo.resolve("deploy/docker/entrypoint.sh").toString()));
        command.addAll(args);
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
        pb.environment().clear();
        pb.environment().put("PATH", System.getenv().getOrDefault("PATH", "/usr/bin:/bin"));
        pb.environment().putAll(env);
        pb.environment().put("HOSTNAME", host);
        pb.environment().put("AFD_ENTRYPOINT_DRY_RUN", "1");
        Process p = pb.start();
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(10, TimeUnit.SECONDS) && p.exitValue() == 0)
                .as("%s %s (%s): entry point failed: %s", m, w.name(), host, out).isTrue();
        List<String> lines = out.lines().toList();
        int jar = lines.indexOf("-jar");
        assertThat(jar).as("entry point command %s", lines).isPositive();
        List<String> afd = lines.subList(jar + 2, lines.size());
        CommandLine cl = new CommandLine(new Main());
        cl.setDefaultValueProvider(new EnvironmentDefaults(env));
        try {
            CommandLine.ParseResult parsed = cl.parseArgs(afd.toArray(String[]::new));
            assertThat(parsed.subcommand()).as("%s %s: %s names a sub-command", m, w.name(), afd).isNotNull();
            return new Launch(w, c, env, afd, parsed.subcommand().commandSpec());
        } catch (CommandLine.ParameterException e) {
            throw new AssertionError(m + " " + w.name() + " (" + host + "): afd " + afd + " with " + env
                    + " does not parse: " + e.getMessage(), e);
        }
    }

    /** Absolute paths in the manifests move under the test's folder, where the entry point can read them. */
    private static String relocate(String value) {
        return value.startsWith("/models/") ? work.resolve("root").toString() + value : value;
    }

    /** The model folder as the manifests name it (before relocation). */
    private static String rawModelPath(Launch l) {
        Path model = switch (l.command()) {
            case GatewayCommand g -> g.model;
            case AttentionCommand a -> a.model;
            case FfnCommand f -> f.model;
            default -> throw new AssertionError("not a serving role: " + l.command().getClass().getSimpleName());
        };
        return model.toString().replace(work.resolve("root").toString(), "");
    }

    /** The folder a make-model init container writes, or empty for other init containers. */
    private static String outputOf(Manifests m, Workload w, JsonNode init) {
        try {
            CommandSpec spec = launch(m, w, init, w.podHostNames().getFirst()).spec();
            return spec.name().equals("make-model")
                    ? spec.findOption("--out").getValue().toString().replace(work.resolve("root").toString(), "") : "";
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    /** Where the role answers {@code GET /metrics}: the gateway on its API port, the nodes on their own. */
    private static int metricsPort(Object command) {
        return switch (command) {
            case GatewayCommand g -> g.port;
            case AttentionCommand a -> a.metrics.port;
            case FfnCommand f -> f.metrics.port;
            default -> throw new AssertionError("not a serving role: " + command.getClass().getSimpleName());
        };
    }

    private static int listeningPort(Object command) {
        return switch (command) {
            case GatewayCommand g -> g.port;
            case AttentionCommand a -> a.listen.port;
            case FfnCommand f -> f.listen.port;
            default -> throw new AssertionError("not a serving role: " + command.getClass().getSimpleName());
        };
    }

    /** The environment variables that set options of a command: AFD_CMD_OPTION and AFD_OPTION. */
    private static Set<String> optionVariables(CommandSpec spec) {
        Set<String> vars = new TreeSet<>();
        String command = spec.qualifiedName("_").replaceFirst("^afd_?", "");
        for (OptionSpec o : spec.options()) {
            String option = o.longestName().replaceFirst("^-+", "");
            vars.add(EnvironmentDefaults.variable(command + "_" + option));
            vars.add(EnvironmentDefaults.variable(option));
        }
        return vars;
    }

    /** A port given by name or number, as the container's port number; -1 when the container has no such port. */
    private static int resolvePort(JsonNode container, JsonNode port) {
        if (port.isInt() || port.asText().matches("\\d+")) {
            int n = port.asInt();
            return Manifests.list(container.path("ports")).stream().anyMatch(p -> p.path("containerPort").asInt() == n)
                    ? n : -1;
        }
        return Manifests.list(container.path("ports")).stream()
                .filter(p -> p.path("name").asText().equals(port.asText())).mapToInt(p -> p.path("containerPort")
                        .asInt()).findFirst().orElse(-1);
    }

    private static JsonNode mount(JsonNode container, String path) {
        return Manifests.list(container.path("volumeMounts")).stream()
                .filter(v -> v.path("mountPath").asText().equals(path)).findFirst()
                .orElseThrow(() -> new AssertionError(container.path("name").asText() + " mounts nothing at " + path));
    }

    private static JsonNode service(Manifests m, String serviceName) {
        JsonNode svc = m.find("Service", serviceName).orElseThrow(() -> new AssertionError(m + ": no Service "
                + serviceName));
        assertThat(svc.path("spec").path("clusterIP").asText()).as("%s Service %s is headless", m, serviceName)
                .isEqualTo("None");
        return svc;
    }

    private static List<JsonNode> allContainers(Workload w) {
        List<JsonNode> all = new ArrayList<>(w.initContainers());
        all.addAll(w.containers());
        return all;
    }

    /** The numeric user the image runs as ({@code USER uid:gid} in the Dockerfile). */
    private static int imageUid() throws IOException {
        Matcher user = Pattern.compile("(?m)^USER (\\d+)").matcher(
                Files.readString(repo.resolve("deploy/docker/Dockerfile")));
        assertThat(user.find()).as("the Dockerfile sets a numeric USER").isTrue();
        return Integer.parseInt(user.group(1));
    }

    private static String name(JsonNode object) {
        return object.path("metadata").path("name").asText();
    }

    private static HttpResponse<String> get(HttpClient http, int port, String path) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                .timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString());
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }
}
