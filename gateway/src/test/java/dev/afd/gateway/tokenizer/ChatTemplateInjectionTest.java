package dev.afd.gateway.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.afd.gateway.openai.ApiException;
import dev.afd.model.generator.TokenizerFiles;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Request values are data: template syntax in a message's content or role, a tool definition or a template variable
 * is printed as written, never run; the template itself loads no files and cannot run past its time budget.
 */
class ChatTemplateInjectionTest {
    /** Each would change the output (or read a file, or spin) if it were evaluated. */
    static final List<String> PAYLOADS = List.of(
            "{{ 7*7 }}",
            "{{7*'7'}}",
            "{% include 'META-INF/MANIFEST.MF' %}",
            "{% import 'META-INF/MANIFEST.MF' as m %}{{ m }}",
            "{% from 'META-INF/MANIFEST.MF' import x %}",
            "{% extends 'META-INF/MANIFEST.MF' %}",
            "{% for i in range(1000) %}{% for j in range(1000) %}{% for k in range(1000) %}x{% endfor %}{% endfor %}"
                    + "{% endfor %}",
            "{{ messages.getClass().forName('java.lang.Runtime') }}",
            "{{ ''.getClass() }}",
            "{% set x = raise_exception('pwned') %}",
            "{{ bos_token }}{{ eos_token }}",
            "{% raw %}{{ 1+1 }}{% endraw %}",
            "{#",
            "{{",
            "{% if true %}",
            "#}{% endfor %}");

    private final ChatTemplate chatMl = new ChatTemplate(TokenizerFiles.CHAT_TEMPLATE, "<s>", "</s>");

    @Test
    void payloadsInContentAndRoleArePrintedAsWritten() {
        for (String payload : PAYLOADS) {
            String out = chatMl.render(List.of(Map.of("role", payload, "content", payload)), false, Map.of());
            assertThat(out).as(payload).isEqualTo("<s><|im_start|>" + payload + "\n" + payload + "<|im_end|>\n");
        }
    }

    @Test
    void payloadsInToolsAndTemplateVariablesArePrintedAsWritten() {
        ChatTemplate withTools = new ChatTemplate("{% for t in tools %}[{{ t['function']['name'] }}|"
                + "{{ t['function']['description'] }}]{% endfor %}{{ extra }}{% for m in messages %}{{ m['content'] }}"
                + "{% endfor %}", null, null);
        for (String payload : PAYLOADS) {
            Map<String, Object> tool = Map.of("type", "function", "function", Map.of("name", payload, "description",
                    payload, "parameters", Map.of("type", "object")));
            String out = withTools.render(List.of(Map.of("role", "user", "content", payload)), true,
                    Map.of("tools", List.of(tool), "extra", payload));
            assertThat(out).as(payload).isEqualTo("[" + payload + "|" + payload + "]" + payload + payload);
        }
    }

    @Test
    void aTemplateCannotLoadFiles() {
        for (String tag : List.of("{% include 'META-INF/MANIFEST.MF' %}", "{% import 'META-INF/MANIFEST.MF' as m %}",
                "{% extends 'META-INF/MANIFEST.MF' %}")) {
            ChatTemplate t = new ChatTemplate("a" + tag + "b", null, null);
            String out;
            try {
                out = t.render(List.of(), false, Map.of());
            } catch (ApiException e) {
                assertThat(e.status()).isEqualTo(400);
                continue;
            }
            assertThat(out).as(tag).doesNotContain("Manifest").doesNotContain("Created-By");
        }
    }

    @Test
    void aTemplateThatRunsPastItsBudgetIsStopped() {
        ChatTemplate slow = new ChatTemplate("{% for i in range(1000) %}{% for j in range(1000) %}{% for k in"
                + " range(1000) %}{% endfor %}{% endfor %}{% endfor %}done", null, null, Duration.ofMillis(200));
        long start = System.nanoTime();
        assertThatThrownBy(() -> slow.render(List.of(), false, Map.of()))
                .isInstanceOfSatisfying(ApiException.class, e -> assertThat(e.status()).isEqualTo(400))
                .hasMessageContaining("took longer than 200 ms");
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(3));
    }

    @Test
    void outputIsCapped() {
        ChatTemplate big = new ChatTemplate("{% for m in messages %}{% for i in range(1000) %}{{ m['content'] }}"
                + "{% endfor %}{% endfor %}", null, null);
        String chunk = "x".repeat(1 << 20);
        List<Map<String, Object>> messages = List.of(Map.of("content", chunk), Map.of("content", chunk));
        assertThatThrownBy(() -> big.render(messages, false, Map.of())).isInstanceOf(ApiException.class);
    }
}
