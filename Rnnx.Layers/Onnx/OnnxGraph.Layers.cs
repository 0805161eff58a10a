using Rnnx.Layers;

namespace Rnnx.Onnx;

/// <summary>The pieces every layer's export shares: weights as initializers and the built-in activations.</summary>
internal sealed partial class OnnxGraph
{
    /// <summary>A weight as a float32 initializer named <c>{path}/{weight name}</c>.</summary>
    public string Weight(Parameter p, string path) =>
        Constant($"{path}/{p.Name}", p.Value.ToFloatArray(), p.Shape.ToArray().Select(d => (long)d).ToArray());

    /// <summary>Applies a built-in activation to <paramref name="x"/> (the identity adds no node).</summary>
    /// <exception cref="NotSupportedException">A custom activation (named with the layer).</exception>
    public string Activate(Activation a, string x, string path) => a.Name switch
    {
        "linear" when a.IsLinear => x,
        "tanh" when ReferenceEquals(a, Activation.Tanh) => Op("Tanh", $"{path}/tanh", [x]),
        "sigmoid" when ReferenceEquals(a, Activation.Sigmoid) => Op("Sigmoid", $"{path}/sigmoid", [x]),
        "relu" when ReferenceEquals(a, Activation.Relu) => Op("Relu", $"{path}/relu", [x]),
        _ => throw new NotSupportedException($"ONNX export: layer '{path}' uses the custom activation '{a.Name}', which cannot be exported (built-ins: tanh, sigmoid, relu, linear)."),
    };

    /// <summary>The ONNX recurrent operators' name of a built-in activation (<c>Affine</c> with α = 1, β = 0 for linear).</summary>
    /// <exception cref="NotSupportedException">A custom activation (named with the layer).</exception>
    public static string RecurrentActivationName(Activation a, string path) => a.Name switch
    {
        "tanh" when ReferenceEquals(a, Activation.Tanh) => "Tanh",
        "sigmoid" when ReferenceEquals(a, Activation.Sigmoid) => "Sigmoid",
        "relu" when ReferenceEquals(a, Activation.Relu) => "Relu",
        "linear" when a.IsLinear => "Affine",
        _ => throw new NotSupportedException($"ONNX export: recurrent layer '{path}' uses the custom activation '{a.Name}', which cannot be exported (built-ins: tanh, sigmoid, relu, linear)."),
    };
}
