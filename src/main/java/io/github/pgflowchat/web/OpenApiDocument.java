package io.github.pgflowchat.web;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

import io.swagger.v3.oas.models.OpenAPI;
import io.swagger.v3.oas.models.Operation;
import io.swagger.v3.oas.models.media.Content;
import io.swagger.v3.oas.models.media.MediaType;
import io.swagger.v3.oas.models.media.ObjectSchema;
import io.swagger.v3.oas.models.media.Schema;
import io.swagger.v3.oas.models.media.StringSchema;
import io.swagger.v3.oas.models.parameters.RequestBody;
import io.swagger.v3.oas.models.responses.ApiResponse;
import io.swagger.v3.oas.models.servers.Server;
import org.apache.camel.CamelContext;
import org.apache.camel.model.ModelCamelContext;
import org.apache.camel.model.rest.ResponseMessageDefinition;
import org.apache.camel.model.rest.RestDefinition;
import org.apache.camel.model.rest.VerbDefinition;
import org.apache.camel.openapi.BeanConfig;
import org.apache.camel.openapi.OpenApiHelper;
import org.apache.camel.openapi.RestOpenApiReader;
import org.apache.camel.openapi.RestOpenApiSupport;
import org.apache.camel.spi.RestConfiguration;
import org.springframework.stereotype.Component;

/**
 * {@code GET /api/openapi.json}: the OpenAPI 3 document camel-openapi-java generates from the rest declarations
 * (routes/api.yaml), with what its 4.17 reader leaves out put back:
 * <ul>
 * <li>a response's own media type: the reader gives every response of an operation all of the operation's
 * {@code produces}, so a stream's 400 would read as {@code text/event-stream}. A response message's
 * {@code contentType} is the media type of that response alone;</li>
 * <li>a JSON request body without a model class is an object, not the string the reader makes it;</li>
 * <li>the server is the rest context path ({@code /api}), relative to wherever the service is reached.</li>
 * </ul>
 * Camel's own {@code apiContextPath} endpoint is not used: it cannot be corrected this way, and it would echo the
 * request's headers (Authorization among them) into its response, where every API route removes them.
 */
@Component("openApiDocument")
public class OpenApiDocument {

    private final CamelContext camel;

    public OpenApiDocument(CamelContext camel) {
        this.camel = camel;
    }

    /** The document as JSON; read anew each time, so a route reload in development shows at once. */
    public String json() throws Exception {
        List<RestDefinition> rests = ((ModelCamelContext) camel).getRestDefinitions();
        RestConfiguration restConfiguration = camel.getRestConfiguration();
        BeanConfig config = new BeanConfig();
        new RestOpenApiSupport().initOpenApi(config, Objects.requireNonNullElse(restConfiguration.getApiProperties(), Map.of()));
        // Without schemes the reader adds no server of its own, which would name a host ("http://null/api").
        config.setSchemes(null);
        OpenAPI document = new RestOpenApiReader().read(camel, rests, config, camel.getName(), camel.getClassResolver());
        OpenApiHelper.clearVendorExtensions(document);
        document.setServers(List.of(new Server().url(restConfiguration.getContextPath())
                .description("This service; every path below is under it")));
        Map<String, Operation> operations = operationsById(document);
        for (RestDefinition rest : rests) {
            for (VerbDefinition verb : rest.getVerbs()) {
                Operation operation = operations.get(verb.getId());
                if (operation != null) {
                    describeResponseMediaTypes(operation, verb);
                    describeJsonBodiesAsObjects(operation.getRequestBody());
                }
            }
        }
        return RestOpenApiSupport.getJsonFromOpenAPIAsString(document, config);
    }

    private static Map<String, Operation> operationsById(OpenAPI document) {
        Map<String, Operation> operations = new HashMap<>();
        document.getPaths().values().forEach(path -> path.readOperations()
                .forEach(operation -> operations.put(operation.getOperationId(), operation)));
        return operations;
    }

    private static void describeResponseMediaTypes(Operation operation, VerbDefinition verb) {
        for (ResponseMessageDefinition message : verb.getResponseMsgs()) {
            ApiResponse response = operation.getResponses().get(message.getCode());
            if (response == null || message.getContentType() == null) {
                continue;
            }
            Schema<?> schema = response.getContent() == null ? null
                    : response.getContent().values().stream().map(MediaType::getSchema).filter(Objects::nonNull).findFirst().orElse(null);
            response.setContent(new Content().addMediaType(message.getContentType(), new MediaType().schema(schema)));
        }
    }

    private static void describeJsonBodiesAsObjects(RequestBody body) {
        if (body == null || body.getContent() == null) {
            return;
        }
        body.getContent().forEach((type, media) -> {
            if (type.contains("json") && media.getSchema() instanceof StringSchema) {
                media.setSchema(new ObjectSchema());
            }
        });
    }
}
