using Rnnx.Layers;
using Rnnx.Models;

namespace Rnnx.Forecasting;

/// <summary>
/// The forecasters of <c>rnnx train --arch</c>: (window, 1) inputs → horizon outputs, built from the chapter's models.
/// </summary>
public static class ForecastModels
{
    /// <summary>The architecture names, in the order the docs list them.</summary>
    public static IReadOnlyList<string> Architectures { get; } = ["linear", "simple_rnn", "lstm", "gru", "conv_rnn", "wavenet"];

    /// <summary>The shortest window an architecture accepts (conv_rnn's first convolution spans 4 steps; the others take any).</summary>
    public static int MinimumWindow(string arch) => arch == "conv_rnn" ? 4 : 1;

    /// <summary>A new, uncompiled forecaster.</summary>
    /// <param name="arch">One of <see cref="Architectures"/>.</param>
    /// <param name="window">Input steps.</param>
    /// <param name="horizon">Output steps.</param>
    /// <param name="seed">Seed of the initial weights (and of the shuffles, through <see cref="Model.Seed"/>).</param>
    /// <exception cref="ArgumentException">An unknown architecture (the message lists the known ones) or a window too short for it.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A size is not positive.</exception>
    public static Sequential Create(string arch, int window, int horizon, int seed)
    {
        ArgumentNullException.ThrowIfNull(arch);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(window);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(horizon);
        if (!Architectures.Contains(arch))
            throw new ArgumentException($"unknown architecture '{arch}'; architectures: {string.Join(", ", Architectures)}", nameof(arch));
        if (window < MinimumWindow(arch))
            throw new ArgumentException($"{arch} needs a window of at least {MinimumWindow(arch)} steps, got {window}", nameof(window));
        Layer[] layers = arch switch
        {
            "linear" => [new Flatten(inputShape: [window, 1]), new Dense(horizon)],
            "simple_rnn" => [new SimpleRNN(20, returnSequences: true, inputShape: [null, 1]), new SimpleRNN(20), new Dense(horizon)],
            "lstm" => [new LSTM(20, returnSequences: true, inputShape: [null, 1]), new LSTM(20), new Dense(horizon)],
            "gru" => [new GRU(20, returnSequences: true, inputShape: [null, 1]), new GRU(20), new Dense(horizon)],
            "conv_rnn" => [new Conv1D(20, 4, strides: 2, padding: "valid", inputShape: [null, 1]), new GRU(20, returnSequences: true), new GRU(20), new Dense(horizon)],
            _ => WaveNet(window, horizon),
        };
        return new Sequential(layers, arch, seed);
    }

    private static Layer[] WaveNet(int window, int horizon)
    {
        // The chapter's causal dilated stack, read out by a dense layer over the whole window.
        var layers = new List<Layer> { new InputLayer([window, 1]) };
        foreach (int rate in new[] { 1, 2, 4, 8, 1, 2, 4, 8 }) layers.Add(new Conv1D(20, 2, padding: "causal", activation: "relu", dilationRate: rate));
        layers.Add(new Conv1D(10, 1));
        layers.Add(new Flatten());
        layers.Add(new Dense(horizon));
        return [.. layers];
    }
}
