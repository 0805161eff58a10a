using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Text.Json.Serialization;

namespace Rnnx.Cli;

/// <summary>The results of one <c>rnnx chapter</c> run (also its JSON report).</summary>
internal sealed class ChapterResult
{
    /// <summary>The naive one-step baseline.</summary>
    public required BaselineResult NaiveBaseline { get; init; }

    /// <summary>The trained models, in the notebook's order.</summary>
    public List<ModelResult> Models { get; init; } = [];

    /// <summary>The seed of the models' weights and shuffles.</summary>
    public int Seed { get; init; }

    /// <summary>The epoch override, or null when the notebook's counts were used.</summary>
    public int? EpochsOverride { get; init; }

    /// <summary>The batch size.</summary>
    public int BatchSize { get; init; }

    /// <summary>MSE of the linear model's iterative 10-step forecast of the new series against its true values (null when linear did not run).</summary>
    public float? IterativeForecastMse { get; set; }

    /// <summary>The PNG files written (full paths).</summary>
    public List<string> Plots { get; init; } = [];

    /// <summary>The machine the run was on.</summary>
    public required MachineInfo Machine { get; init; }

    /// <summary>Wall time of the whole run, in seconds.</summary>
    public double TotalSeconds { get; set; }
}

/// <summary>The naive baseline's value and the notebook's.</summary>
internal sealed class BaselineResult
{
    /// <summary>The name (<c>naive</c>).</summary>
    public string Name { get; init; } = "naive";

    /// <summary>The validation MSE computed here.</summary>
    public float ValMse { get; init; }

    /// <summary>The notebook's (Keras) value.</summary>
    public float KerasValMse { get; init; }
}

/// <summary>One trained model's results.</summary>
internal sealed class ModelResult
{
    /// <summary>The model name.</summary>
    public required string Name { get; init; }

    /// <summary>Number of weights.</summary>
    public int Params { get; init; }

    /// <summary>Epochs trained.</summary>
    public int Epochs { get; init; }

    /// <summary><c>np.mean(mse(Y_valid, model.predict(X_valid)))</c>.</summary>
    public float ValMse { get; init; }

    /// <summary>The MSE of the last time step's forecasts on validation, where the notebook uses that metric; otherwise null.</summary>
    public float? LastStepMse { get; init; }

    /// <summary>The notebook's (Keras) validation MSE, or null for a model beyond the notebook.</summary>
    public float? KerasValMse { get; init; }

    /// <summary>Training loss per epoch.</summary>
    public List<double> Loss { get; init; } = [];

    /// <summary>Mean seconds of an epoch's training steps (validation excluded), excluding the first (warm-up) epoch, as the libtorch peer reports it.</summary>
    public double MeanEpochSeconds { get; init; }

    /// <summary>Median latency of Predict on one series (batch 1), in microseconds.</summary>
    public double PredictBatch1Us { get; init; }

    /// <summary>Median time of Predict on the whole validation set, in milliseconds.</summary>
    public double PredictValidationMs { get; init; }

    /// <summary>Validation loss per epoch.</summary>
    public List<double> ValLoss { get; init; } = [];

    /// <summary>Other per-epoch values (metrics and their validation values), keyed as Keras's History.</summary>
    public Dictionary<string, List<double>> Metrics { get; init; } = [];

    /// <summary>Wall time of each epoch (training plus validation), in seconds.</summary>
    public List<double> EpochSeconds { get; init; } = [];

    /// <summary>Wall time of <c>fit</c>, in seconds.</summary>
    public double TrainingSeconds { get; init; }
}

/// <summary>What the run was measured on.</summary>
internal sealed class MachineInfo
{
    /// <summary>Logical processors.</summary>
    public int ProcessorCount { get; init; }

    /// <summary>The operating system.</summary>
    public string Os { get; init; } = "";

    /// <summary>The process architecture.</summary>
    public string Architecture { get; init; } = "";

    /// <summary>The .NET runtime.</summary>
    public string DotnetVersion { get; init; } = "";

    /// <summary>Whether 512-bit vectors are hardware accelerated.</summary>
    public bool Vector512Accelerated { get; init; }

    /// <summary>Whether 256-bit vectors are hardware accelerated.</summary>
    public bool Vector256Accelerated { get; init; }

    /// <summary>Training threads per model.</summary>
    public int Threads { get; init; }

    /// <summary>Describes the current machine.</summary>
    public static MachineInfo Current(int threads) => new()
    {
        ProcessorCount = Environment.ProcessorCount,
        Os = RuntimeInformation.OSDescription,
        Architecture = RuntimeInformation.ProcessArchitecture.ToString(),
        DotnetVersion = RuntimeInformation.FrameworkDescription,
        Vector512Accelerated = Vector512.IsHardwareAccelerated,
        Vector256Accelerated = Vector256.IsHardwareAccelerated,
        Threads = threads,
    };
}

/// <summary>Source-generated JSON for the report (snake_case keys, indented).</summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    WriteIndented = true,
    NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals)]
[JsonSerializable(typeof(ChapterResult))]
internal sealed partial class ChapterJsonContext : JsonSerializerContext;
