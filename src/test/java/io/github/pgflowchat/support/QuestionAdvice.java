package io.github.pgflowchat.support;

import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;
import org.apache.camel.CamelContext;
import org.apache.camel.Processor;
import org.apache.camel.builder.AdviceWith;

/**
 * The one kind of test double on the pipeline: a step route that, for a few test questions, first runs something
 * else (throws, waits on a latch, sleeps). Every other question goes through the real step untouched.
 */
public final class QuestionAdvice {

    private QuestionAdvice() {
    }

    public static void adviseStep(CamelContext camel, String routeId, Map<String, Processor> byQuestion) throws Exception {
        AdviceWith.adviceWith(camel, routeId, route -> route.weaveAddFirst().process(exchange -> {
            Processor special = byQuestion.get(exchange.getIn().getBody(JsonNode.class).path("run").path("question").asText());
            if (special != null) {
                special.process(exchange);
            }
        }));
    }
}
