package dev.afd.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.afd.ffn.core.placement.ExpertLoad;
import dev.afd.ffn.core.placement.Placement;
import dev.afd.ffn.core.placement.PlacementPlanner;
import dev.afd.model.family.ModelFamilies;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code afd experts}: tools for where routed experts live. */
@Command(name = "experts", mixinStandardHelpOptions = true, description = "Where routed experts live.",
        subcommands = {ExpertsCommand.Plan.class})
final class ExpertsCommand {

    /** {@code afd experts plan}: each ffn-node's {@code --experts} from measured per-expert load. */
    @Command(name = "plan", mixinStandardHelpOptions = true,
            description = {"Print each ffn-node's --experts set so that the busiest node's expected load is as low as"
                    + " possible: every expert once, spare slots (nodes x capacity - experts) to replicas of the"
                    + " experts with the most load per replica, then replicas placed busiest first on the"
                    + " least-loaded node with room. Compares the plan with the contiguous split without replicas."})
    static final class Plan implements Callable<Integer> {
        /** How long fetching {@code --load} from a URL may take. */
        static final Duration FETCH_TIMEOUT = Duration.ofSeconds(10);

        @Spec
        CommandSpec spec;

        @Option(names = "--load", required = true, paramLabel = "FILE|URL",
                description = "Routed tokens per expert: Prometheus text with afd_expert_routed_tokens_total{expert}"
                        + " (e.g. an attention node's http://HOST:9464/metrics: each node sees a share of the traffic;"
                        + " for the whole tier, save several nodes' scrapes in one file, their series are added) or a"
                        + " JSON map {\"EXPERT\": tokens}; a file or an http(s) URL. Required; no default.")
        String load;

        @Option(names = "--nodes", required = true, description = "ffn-nodes to place the experts on. Required; no default.")
        int nodes;

        @Option(names = "--capacity", required = true,
                description = "The most experts one node may hold; nodes x capacity must cover every expert. Required;"
                        + " no default.")
        int capacity;

        @Option(names = "--model",
                description = "Checkpoint folder whose config.json gives the number of routed experts. Default: the"
                        + " largest expert id in the load + 1.")
        Path model;

        @Option(names = "--format", defaultValue = "text",
                description = "text or json. Default: ${DEFAULT-VALUE}.")
        String format;

        @Override
        public Integer call() throws Exception {
            if (!format.equals("text") && !format.equals("json")) {
                throw new IllegalArgumentException("--format must be text or json, got '" + format + "'");
            }
            ExpertLoad measured = ExpertLoad.parse(read(load), load);
            int experts;
            String expertsFrom;
            if (model != null) {
                experts = ModelFamilies.read(model.resolve("config.json")).numExperts();
                expertsFrom = "from " + model.resolve("config.json");
            } else {
                experts = measured.expertsSeen();
                expertsFrom = "the largest expert id in the load + 1; give --model if the last experts got no tokens";
            }
            double[] perExpert = measured.perExpert(experts);
            Placement plan = PlacementPlanner.plan(perExpert, nodes, capacity);
            Placement contiguous = PlacementPlanner.contiguous(perExpert, nodes);
            PrintWriter out = spec.commandLine().getOut();
            if (format.equals("json")) {
                out.println(json(experts, expertsFrom, plan, contiguous));
            } else {
                out.printf(Locale.ROOT, "%d experts (%s), %,.0f routed tokens%n", experts, expertsFrom,
                        plan.meanLoad() * nodes);
                for (int n = 0; n < nodes; n++) {
                    Placement.Node node = plan.nodes().get(n);
                    out.printf(Locale.ROOT, "node %d: --experts %s  expected load %,.0f (%.1f%% of mean)%n", n,
                            node.expertSet(), node.load(), 100 * node.load() / plan.meanLoad());
                }
                out.printf(Locale.ROOT, "max/mean %.3f with this plan (%d experts held, %d of them replicas)%n",
                        plan.maxOverMean(), held(plan), held(plan) - experts);
                out.printf(Locale.ROOT, "max/mean %.3f with %d equal contiguous ranges and no replicas%n",
                        contiguous.maxOverMean(), nodes);
            }
            out.flush();
            return 0;
        }

        private static int held(Placement p) {
            return p.nodes().stream().mapToInt(n -> n.experts().size()).sum();
        }

        private String json(int experts, String expertsFrom, Placement plan, Placement contiguous) throws IOException {
            ObjectMapper mapper = new ObjectMapper();
            ObjectNode root = mapper.createObjectNode().put("experts", experts).put("experts_from", expertsFrom);
            ArrayNode list = root.putArray("nodes");
            for (Placement.Node node : plan.nodes()) {
                list.addObject().put("experts", node.expertSet()).put("expected_load", node.load())
                        .put("of_mean", node.load() / plan.meanLoad());
            }
            root.put("max_over_mean", plan.maxOverMean()).put("contiguous_max_over_mean", contiguous.maxOverMean());
            return mapper.writerWithDefaultPrettyPrinter().writeValueAsString(root);
        }

        /** The text of a file, or of an http(s) URL's answer. */
        private static String read(String location) throws IOException, InterruptedException {
            if (!location.startsWith("http://") && !location.startsWith("https://")) {
                return Files.readString(Path.of(location));
            }
            URI uri;
            try {
                uri = URI.create(location);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("--load " + location + " is not a valid URL: " + e.getMessage());
            }
            HttpResponse<String> r;
            try (HttpClient http = HttpClient.newBuilder().connectTimeout(FETCH_TIMEOUT)
                    .followRedirects(HttpClient.Redirect.NORMAL).build()) {
                r = http.send(HttpRequest.newBuilder(uri).timeout(FETCH_TIMEOUT).GET().build(),
                        HttpResponse.BodyHandlers.ofString());
            } catch (IOException e) {
                throw new IOException("cannot GET " + location + " within " + FETCH_TIMEOUT.toSeconds() + " s: "
                        + (e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage())
                        + "; is the attention node running and the address (its --metrics-port) right?", e);
            }
            if (r.statusCode() != 200) {
                throw new IOException("GET " + location + " answered HTTP " + r.statusCode()
                        + "; give an attention node's /metrics URL or a file");
            }
            return r.body();
        }
    }
}
