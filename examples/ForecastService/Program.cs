using System.Text.Json;
using System.Text.Json.Serialization;
using ForecastService;

// A forecasting service: one .rnnx model loaded once and shared by every request.
//   dotnet run -c Release --project examples/ForecastService -- --Model model.rnnx --urls http://127.0.0.1:5080
//   curl -s -X POST http://127.0.0.1:5080/forecast -H 'Content-Type: application/json' -d '{"series":[0.1, ...]}'
var builder = WebApplication.CreateSlimBuilder(args);
builder.Services.AddSingleton(sp =>
{
    var config = sp.GetRequiredService<IConfiguration>();
    return ForecastModel.Load(config["Model"], config.GetValue("MaxSteps", 10_000));
});
builder.Services.ConfigureHttpJsonOptions(o => o.SerializerOptions.TypeInfoResolverChain.Insert(0, ForecastJson.Default));
builder.WebHost.ConfigureKestrel(k => k.Limits.MaxRequestBodySize = 1 << 20);
builder.Logging.SetMinimumLevel(LogLevel.Warning);

var app = builder.Build();
var model = app.Services.GetRequiredService<ForecastModel>();   // load at start: a bad model path stops the service here

app.MapGet("/", () => Results.Ok(new ServiceInfo(model.Name, model.MinSteps, model.MaxSteps)));

app.MapPost("/forecast", async (HttpRequest request) =>
{
    ForecastRequest? body;
    try
    {
        body = await JsonSerializer.DeserializeAsync(request.Body, ForecastJson.Default.ForecastRequest, request.HttpContext.RequestAborted);
    }
    catch (JsonException e)
    {
        return Results.BadRequest(new ForecastError($"bad JSON: {e.Message}"));
    }
    catch (BadHttpRequestException e)
    {
        return Results.BadRequest(new ForecastError(e.Message));
    }
    if (model.Validate(body?.Series) is { } problem) return Results.BadRequest(new ForecastError(problem));
    return Results.Ok(new ForecastResponse(model.Forecast(body!.Series!)));
});

app.Run();
