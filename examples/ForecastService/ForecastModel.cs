using Rnnx;
using Rnnx.Models;

namespace ForecastService;

/// <summary>
/// The served model, loaded once and shared by every request: <see cref="Model.Predict(float[], int[])"/> may be
/// called from any number of threads at once, so no lock and no per-request copy of the model are needed.
/// </summary>
public sealed class ForecastModel
{
    private readonly Sequential _model;
    private readonly int? _fixedSteps;

    private ForecastModel(Sequential model, string path, int maxSteps)
    {
        _model = model;
        Path = path;
        MaxSteps = maxSteps;
        var input = model.InputShape!;
        if (input.Length != 2 || input[1] != 1)
            throw new InvalidOperationException($"{path}: the service forecasts univariate series; the model expects inputs of shape (samples, {string.Join(", ", input.Select(d => d?.ToString() ?? "None"))}).");
        _fixedSteps = input[0];
        MinSteps = Math.Max(1, MinimumLength(model));
    }

    /// <summary>The model file.</summary>
    public string Path { get; }

    /// <summary>The longest series accepted (bounds the work one request can cause).</summary>
    public int MaxSteps { get; }

    /// <summary>The shortest series the model accepts.</summary>
    public int MinSteps { get; }

    /// <summary>The model's name.</summary>
    public string Name => _model.Name;

    /// <summary>Loads a <c>.rnnx</c> model saved with <c>model.Save(path)</c>.</summary>
    /// <exception cref="InvalidOperationException">The path is missing or the file is not a univariate series model.</exception>
    public static ForecastModel Load(string? path, int maxSteps)
    {
        if (string.IsNullOrWhiteSpace(path))
            throw new InvalidOperationException("no model: pass --Model path/to/model.rnnx (or set the Model setting).");
        if (!File.Exists(path)) throw new InvalidOperationException($"model file not found: {path}");
        if (maxSteps < 1) throw new InvalidOperationException($"MaxSteps must be at least 1, got {maxSteps}.");
        return new ForecastModel(Sequential.Load(path, compile: false), path, maxSteps);
    }

    /// <summary>The problem with <paramref name="series"/> as a client should read it, or null when it can be forecast.</summary>
    public string? Validate(float[]? series)
    {
        if (series is null) return "the body must be a JSON object with a \"series\" array of numbers, e.g. {\"series\":[0.1,0.2,0.3]}.";
        if (_fixedSteps is { } n && series.Length != n) return $"this model needs exactly {n} values in \"series\", got {series.Length}.";
        if (series.Length < MinSteps) return $"\"series\" needs at least {MinSteps} value{(MinSteps == 1 ? "" : "s")}, got {series.Length}.";
        if (series.Length > MaxSteps) return $"\"series\" is too long: {series.Length} values, at most {MaxSteps} are accepted.";
        for (int i = 0; i < series.Length; i++)
            if (!float.IsFinite(series[i]))
                return $"series[{i}] is {(float.IsNaN(series[i]) ? "NaN" : series[i] > 0 ? "Infinity" : "-Infinity")}; every value must be a finite number.";
        return null;
    }

    /// <summary>
    /// The forecast for one validated series: the model's output for it, or for a sequence-to-sequence model the
    /// output at the last time step (the forecast made after seeing the whole series).
    /// </summary>
    public float[] Forecast(float[] series)
    {
        var y = _model.Predict(series, 1, series.Length, 1);
        int rank = _model.OutputShape!.Length;
        if (rank < 2) return y;
        int perStep = _model.OutputShape[^1]!.Value;
        return y.AsSpan(y.Length - perStep).ToArray();
    }

    /// <summary>The shortest input the model accepts, found by trying lengths (convolutions need a few steps).</summary>
    private static int MinimumLength(Sequential model)
    {
        for (int n = 1; n <= 64; n++)
        {
            try
            {
                model.Predict(new float[n], 1, n, 1);
                return n;
            }
            catch (ArgumentException)
            {
            }
        }
        return 1;
    }
}
