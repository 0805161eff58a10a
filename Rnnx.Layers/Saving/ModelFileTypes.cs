using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Rnnx.Losses;
using Rnnx.Metrics;
using Rnnx.Models;
using Rnnx.Optimization;
using Rnnx.Random;

namespace Rnnx.Saving;


/// <summary>Options of <see cref="ModelIO.Save"/>.</summary>
public sealed class SaveOptions
{
    /// <summary>
    /// Also save the compile settings (loss, metrics, optimizer and its state) and the state of the shuffle generator,
    /// so that <see cref="ModelIO.Load"/> returns a model ready to continue training (default true). Ignored for an
    /// uncompiled model.
    /// </summary>
    public bool IncludeOptimizer { get; set; } = true;

    /// <summary>The number of epochs completed, recorded for resuming (<c>Fit(..., initialEpoch: Epoch)</c>); null for none.</summary>
    public int? Epoch { get; set; }

    /// <summary>Free-form string metadata saved with the model (read back with <see cref="ModelIO.Inspect"/>).</summary>
    public IDictionary<string, string>? Metadata { get; set; }
}

/// <summary>A model loaded from a checkpoint, with the number of epochs it had completed.</summary>
/// <param name="Model">The model, compiled and with its optimizer and shuffle state restored when the file holds them.</param>
/// <param name="Epoch">Epochs completed when the checkpoint was written (0 if the file does not say): pass it as <c>initialEpoch</c>.</param>
/// <param name="Metadata">The user metadata saved with the file.</param>
public sealed record Checkpoint(Sequential Model, int Epoch, IReadOnlyDictionary<string, string> Metadata);

/// <summary>What a model or weights file holds, read without building the model.</summary>
public sealed class ModelFileInfo
{
    internal ModelFileInfo() { }

    /// <summary><c>model</c> for a whole-model file or checkpoint, <c>weights</c> for a weights file, <c>safetensors</c> for a foreign file.</summary>
    public string Kind { get; internal init; } = "";

    /// <summary>The architecture JSON, or null for a weights file.</summary>
    public string? Architecture { get; internal init; }

    /// <summary>Whether the file holds compile settings and optimizer state.</summary>
    public bool HasOptimizerState { get; internal init; }

    /// <summary>Epochs completed, for a checkpoint.</summary>
    public int? Epoch { get; internal init; }

    /// <summary>The user metadata (<see cref="SaveOptions.Metadata"/>).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; internal init; } = new Dictionary<string, string>();

    /// <summary>Each tensor's name, dtype and shape, in file order.</summary>
    public IReadOnlyList<(string Name, DType DType, int[] Shape)> Tensors { get; internal init; } = [];
}
