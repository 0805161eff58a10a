using System.Text.Json.Serialization;

namespace ForecastService;

/// <summary>The body of <c>POST /forecast</c>.</summary>
/// <param name="Series">The observed values, oldest first.</param>
public sealed record ForecastRequest([property: JsonPropertyName("series")] float[]? Series);

/// <summary>The answer: the model's forecast for the series.</summary>
public sealed record ForecastResponse([property: JsonPropertyName("forecast")] float[] Forecast);

/// <summary>Why a request was refused (with status 400).</summary>
public sealed record ForecastError([property: JsonPropertyName("error")] string Error);

/// <summary>What <c>GET /</c> reports about the served model.</summary>
public sealed record ServiceInfo(
    [property: JsonPropertyName("model")] string Model,
    [property: JsonPropertyName("minSteps")] int MinSteps,
    [property: JsonPropertyName("maxSteps")] int MaxSteps);

/// <summary>
/// Source-generated JSON. "NaN" and "Infinity" written as strings are read as numbers so that the service can answer
/// them with a clear message instead of a parse error.
/// </summary>
[JsonSourceGenerationOptions(NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals)]
[JsonSerializable(typeof(ForecastRequest))]
[JsonSerializable(typeof(ForecastResponse))]
[JsonSerializable(typeof(ForecastError))]
[JsonSerializable(typeof(ServiceInfo))]
public sealed partial class ForecastJson : JsonSerializerContext;
