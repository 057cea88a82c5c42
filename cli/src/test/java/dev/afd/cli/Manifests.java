package dev.afd.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * The Kubernetes objects of one deployment variant: an overlay rendered by {@code deploy/check.sh --render-only}, or,
 * where no kubectl is installed, the Kustomize base read as it is (its files are complete objects; the options file
 * becomes the ConfigMap).
 *
 * @param name the overlay's name, or {@code base} for the unrendered base
 */
record Manifests(String name, List<JsonNode> objects) {
    private static final ObjectMapper YAML = new YAMLMapper();

    /** A Deployment or StatefulSet. */
    record Workload(JsonNode object) {
        String kind() {
            return object.path("kind").asText();
        }

        String name() {
            return object.path("metadata").path("name").asText();
        }

        int replicas() {
            return object.path("spec").path("replicas").asInt(1);
        }

        JsonNode podSpec() {
            return object.path("spec").path("template").path("spec");
        }

        JsonNode podLabels() {
            return object.path("spec").path("template").path("metadata").path("labels");
        }

        List<JsonNode> containers() {
            return list(podSpec().path("containers"));
        }

        List<JsonNode> initContainers() {
            return list(podSpec().path("initContainers"));
        }

        /** Host names of its pods: NAME-ORDINAL for a StatefulSet (what the entry point reads), NAME-0 otherwise. */
        List<String> podHostNames() {
            int n = kind().equals("StatefulSet") ? replicas() : 1;
            List<String> names = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                names.add(name() + "-" + i);
            }
            return names;
        }

        JsonNode volume(String volumeName) {
            return list(podSpec().path("volumes")).stream()
                    .filter(v -> v.path("name").asText().equals(volumeName)).findFirst()
                    .orElseThrow(() -> new AssertionError(name() + " has no volume " + volumeName));
        }

        /** Whether the selector's labels are all among the pod template's labels. */
        boolean selectedBy(JsonNode matchLabels) {
            for (Map.Entry<String, JsonNode> e : matchLabels.properties()) {
                if (!podLabels().path(e.getKey()).asText("\0").equals(e.getValue().asText())) {
                    return false;
                }
            }
            return !matchLabels.isEmpty();
        }
    }

    /**
     * Renders every overlay with {@code deploy/check.sh --render-only}, without downloading anything; with no kubectl
     * installed, the base as it is.
     */
    static List<Manifests> load(Path repo, Path work) throws IOException, InterruptedException {
        Path out = work.resolve("rendered");
        Path log = work.resolve("render.log");
        ProcessBuilder pb = new ProcessBuilder("bash", repo.resolve("deploy/check.sh").toString(), "--render-only",
                out.toString())
                .redirectErrorStream(true).redirectOutput(log.toFile()).directory(repo.toFile());
        // Tests never download: without a kubectl the script exits 3 and the base is checked as it is.
        pb.environment().put("AFD_CHECK_OFFLINE", "1");
        Process p = pb.start();
        p.getOutputStream().close();
        if (!p.waitFor(120, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("deploy/check.sh --render-only did not finish in 120 s");
        }
        String output = Files.readString(log);
        if (p.exitValue() == 3) {
            System.err.println("DeploymentManifestsTest: no kubectl, checking the unrendered base only: " + output);
            return List.of(base(repo.resolve("deploy/k8s/base")));
        }
        if (p.exitValue() != 0) {
            throw new AssertionError("deploy/check.sh --render-only failed (exit " + p.exitValue() + "):\n" + output);
        }
        List<Manifests> all = new ArrayList<>();
        try (Stream<Path> files = Files.list(out)) {
            for (Path f : files.filter(f -> f.toString().endsWith(".yaml")).sorted().toList()) {
                all.add(new Manifests(f.getFileName().toString().replaceFirst("\\.yaml$", ""), parse(f)));
            }
        }
        if (all.isEmpty()) {
            throw new AssertionError("deploy/check.sh rendered no overlay:\n" + output);
        }
        return all;
    }

    private static Manifests base(Path base) throws IOException {
        List<JsonNode> objects = new ArrayList<>();
        try (Stream<Path> files = Files.list(base)) {
            for (Path f : files.filter(f -> f.toString().endsWith(".yaml")
                    && !f.getFileName().toString().equals("kustomization.yaml")).sorted().toList()) {
                objects.addAll(parse(f));
            }
        }
        ObjectNode config = YAML.createObjectNode().put("apiVersion", "v1").put("kind", "ConfigMap");
        config.putObject("metadata").put("name", "afd-config");
        ObjectNode data = config.putObject("data");
        for (String line : Files.readAllLines(base.resolve("config.env"), StandardCharsets.UTF_8)) {
            int eq = line.indexOf('=');
            if (!line.isBlank() && !line.startsWith("#") && eq > 0) {
                data.put(line.substring(0, eq), line.substring(eq + 1));
            }
        }
        objects.add(config);
        return new Manifests("base", objects);
    }

    private static List<JsonNode> parse(Path file) throws IOException {
        List<JsonNode> docs = new ArrayList<>();
        try (var parser = new YAMLFactory().createParser(file.toFile())) {
            var it = YAML.readValues(parser, JsonNode.class);
            while (it.hasNext()) {
                JsonNode doc = it.next();
                if (doc != null && !doc.isNull() && !doc.isMissingNode()) {
                    docs.add(doc);
                }
            }
        }
        return docs;
    }

    List<JsonNode> ofKind(String kind) {
        return objects.stream().filter(o -> o.path("kind").asText().equals(kind)).toList();
    }

    Optional<JsonNode> find(String kind, String objectName) {
        return ofKind(kind).stream().filter(o -> o.path("metadata").path("name").asText().equals(objectName))
                .findFirst();
    }

    List<Workload> workloads() {
        return objects.stream().filter(o -> o.path("kind").asText().matches("Deployment|StatefulSet"))
                .map(Workload::new).toList();
    }

    /** The workload whose pods run {@code afd ROLE}. */
    Workload workload(String role) {
        return workloads().stream().filter(w -> role.equals(role(w.containers().getFirst()))).findFirst()
                .orElseThrow(() -> new AssertionError(name + ": no workload runs afd " + role));
    }

    List<Workload> selectedBy(JsonNode matchLabels) {
        return workloads().stream().filter(w -> w.selectedBy(matchLabels)).toList();
    }

    /** The afd sub-command a container runs: its first argument. */
    static String role(JsonNode container) {
        return container.path("args").path(0).asText();
    }

    /** What a container's process sees: the ConfigMaps it loads with envFrom, then its env (secrets as "secret"). */
    Map<String, String> environment(JsonNode container) {
        Map<String, String> env = new LinkedHashMap<>();
        for (JsonNode from : list(container.path("envFrom"))) {
            String ref = from.path("configMapRef").path("name").asText(null);
            if (ref != null) {
                JsonNode cm = find("ConfigMap", ref).orElseThrow(() -> new AssertionError(
                        name + ": envFrom names ConfigMap " + ref + ", which is not in the manifests"));
                cm.path("data").properties().forEach(e -> env.put(e.getKey(), e.getValue().asText()));
            }
        }
        for (JsonNode e : list(container.path("env"))) {
            env.put(e.path("name").asText(), e.has("value") ? e.path("value").asText() : "secret");
        }
        return env;
    }

    static List<JsonNode> list(JsonNode array) {
        List<JsonNode> out = new ArrayList<>();
        array.forEach(out::add);
        return out;
    }

    @Override
    public String toString() {
        return name;
    }
}
