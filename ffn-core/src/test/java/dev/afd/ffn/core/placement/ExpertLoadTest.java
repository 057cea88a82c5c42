package dev.afd.ffn.core.placement;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class ExpertLoadTest {
    @Test
    void readsTheGatewaysCounterAmongOtherSeriesAndSumsEqualExperts() {
        String metrics = """
                # HELP afd_expert_routed_tokens_total Tokens routed to each expert.
                # TYPE afd_expert_routed_tokens_total counter
                afd_expert_routed_tokens_total{expert="17"} 13552.0
                afd_expert_routed_tokens_total{model_name="a",expert="2"} 10
                afd_expert_routed_tokens_total{expert="2",model_name="b, \\"x\\""} 5.5 1712345678000
                afd_expert_routed_tokens_total_created{expert="2"} 1.7e9
                vllm:num_requests_waiting 3
                """;
        ExpertLoad load = ExpertLoad.parse(metrics, "m");
        assertThat(load.tokens()).containsExactly(java.util.Map.entry(2, 15.5), java.util.Map.entry(17, 13552.0));
        assertThat(load.expertsSeen()).isEqualTo(18);
        double[] per = load.perExpert(20);
        assertThat(per[2]).isEqualTo(15.5);
        assertThat(per[0]).isZero();
    }

    @Test
    void readsAJsonMap() {
        ExpertLoad load = ExpertLoad.parse(" {\"0\": 123, \"3\": 4.5}", "j");
        assertThat(load.perExpert(4)).containsExactly(123, 0, 0, 4.5);
    }

    @Test
    void errorsNameTheLineOrKeyAndSayWhatIsExpected() {
        assertThatThrownBy(() -> ExpertLoad.parse("# x\nafd_expert_routed_tokens_total{expert=\"a\"} 1\n", "m"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("m line 2: expert 'a' is not an expert id (0, 1, ...)");
        assertThatThrownBy(() -> ExpertLoad.parse("afd_expert_routed_tokens_total{le=\"1\"} 1", "m"))
                .hasMessage("m line 1: afd_expert_routed_tokens_total without an expert label:"
                        + " afd_expert_routed_tokens_total{le=\"1\"} 1");
        assertThatThrownBy(() -> ExpertLoad.parse("afd_expert_routed_tokens_total{expert=\"1\"} many", "m"))
                .hasMessageStartingWith("m line 1: 'many' is not a number");
        assertThatThrownBy(() -> ExpertLoad.parse("afd_expert_routed_tokens_total{expert=\"1\"} -3", "m"))
                .hasMessage("m line 1: -3.0 is not a count of tokens (finite, >= 0)");
        assertThatThrownBy(() -> ExpertLoad.parse("up 1\n", "m"))
                .hasMessageStartingWith("m has no afd_expert_routed_tokens_total series");
        assertThatThrownBy(() -> ExpertLoad.parse("{\"x\": 1}", "j"))
                .hasMessage("j: \"x\": expert 'x' is not an expert id (0, 1, ...)");
        assertThatThrownBy(() -> ExpertLoad.parse("{\"1\": \"many\"}", "j"))
                .hasMessage("j: \"1\" is \"many\", not a number of tokens");
        assertThatThrownBy(() -> ExpertLoad.parse("{\"1\": 2,", "j")).hasMessageStartingWith("j is not valid JSON");
        assertThatThrownBy(() -> ExpertLoad.parse("{\"9\": 2}", "j").perExpert(8))
                .hasMessage("j counts tokens for expert 9, but the model has 8 routed experts (0-7); is it the load"
                        + " of another model?");
    }
}
