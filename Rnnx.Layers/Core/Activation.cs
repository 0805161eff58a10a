namespace Rnnx.Layers;

/// <summary>
/// A named activation. Built-ins by Keras name (<c>"tanh"</c>, <c>"sigmoid"</c>, <c>"relu"</c>, <c>"softmax"</c>,
/// <c>"softplus"</c>, <c>"gelu"</c>, <c>"elu"</c>, <c>"selu"</c>, <c>"swish"</c>, <c>"linear"</c>) or a user delegate: <c>new Activation("swish", x =&gt; x * Tensor.Sigmoid(x))</c>.
/// A string converts implicitly, so <c>activation: "relu"</c> works as in Keras.
/// </summary>
public sealed class Activation
{
    private readonly Func<Tensor, Tensor>? _fn;

    /// <summary>A user-defined activation built from differentiable tensor ops.</summary>
    public Activation(string name, Func<Tensor, Tensor> function)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(function);
        Name = name;
        _fn = function;
    }

    private Activation(string name)
    {
        Name = name;
    }

    /// <summary>The name (Keras spelling).</summary>
    public string Name { get; }

    /// <summary>True for the identity.</summary>
    public bool IsLinear => _fn is null && Name == "linear";

    /// <summary>tanh.</summary>
    public static Activation Tanh { get; } = new("tanh", Tensor.Tanh);

    /// <summary>Logistic sigmoid.</summary>
    public static Activation Sigmoid { get; } = new("sigmoid", Tensor.Sigmoid);

    /// <summary>max(x, 0).</summary>
    public static Activation Relu { get; } = new("relu", Tensor.Relu);

    /// <summary>Softmax over the last axis (Keras's <c>softmax</c>, axis = −1).</summary>
    public static Activation Softmax { get; } = new("softmax", x => Tensor.Softmax(x, -1));

    /// <summary>log(1 + eˣ), in the stable form.</summary>
    public static Activation Softplus { get; } = new("softplus", Tensor.Softplus);

    /// <summary>Exact gelu, x Φ(x) (Keras's default, approximate = false).</summary>
    public static Activation Gelu { get; } = new("gelu", Tensor.Gelu);

    /// <summary>elu with α = 1.</summary>
    public static Activation Elu { get; } = new("elu", Tensor.Elu);

    /// <summary>selu (scaled elu with Keras's constants).</summary>
    public static Activation Selu { get; } = new("selu", Tensor.Selu);

    /// <summary>swish / silu, x σ(x).</summary>
    public static Activation Swish { get; } = new("swish", Tensor.Swish);

    /// <summary>The identity (Keras's <c>activation=None</c>).</summary>
    public static Activation Linear { get; } = new("linear");

    /// <summary>The fused kernel implementing this activation, or null for a user delegate.</summary>
    public Autodiff.Ops.FusedActivation? Fused => Name switch
    {
        "linear" when _fn is null => Autodiff.Ops.FusedActivation.Linear,
        "relu" when ReferenceEquals(this, Relu) => Autodiff.Ops.FusedActivation.Relu,
        "tanh" when ReferenceEquals(this, Tanh) => Autodiff.Ops.FusedActivation.Tanh,
        "sigmoid" when ReferenceEquals(this, Sigmoid) => Autodiff.Ops.FusedActivation.Sigmoid,
        _ => null,
    };

    /// <summary>act(x + bias): one fused op for built-in activations, else bias add then the delegate.</summary>
    public Tensor ApplyWithBias(Tensor x, Tensor bias) =>
        Fused is { } f ? Tensor.BiasActivation(x, bias, f) : Apply(x + bias);

    /// <summary>Applies the activation.</summary>
    public Tensor Apply(Tensor x) => _fn is null ? x : _fn(x);

    /// <summary>Looks up a built-in activation by name; null or "linear" is the identity.</summary>
    /// <exception cref="ArgumentException">Unknown name.</exception>
    public static Activation Get(string? name) => FindBuiltIn(name)
        ?? throw new ArgumentException($"Unknown activation '{name}'; use tanh, sigmoid, relu, softmax, softplus, gelu, elu, selu, swish (or silu) or linear, or pass an Activation built from a delegate.", nameof(name));

    /// <summary>The built-in activation of that Keras name (null, "" and "None" are linear), or null.</summary>
    public static Activation? FindBuiltIn(string? name) => name switch
    {
        null or "" or "linear" or "None" or "none" => Linear,
        "tanh" => Tanh,
        "sigmoid" => Sigmoid,
        "relu" => Relu,
        "softmax" => Softmax,
        "softplus" => Softplus,
        "gelu" => Gelu,
        "elu" => Elu,
        "selu" => Selu,
        "swish" or "silu" => Swish,
        _ => null,
    };

    /// <summary>True for the activations this type defines (as opposed to a user delegate that reuses a built-in name).</summary>
    public bool IsBuiltIn => ReferenceEquals(FindBuiltIn(Name), this);

    /// <summary>Converts a name to a built-in activation.</summary>
    public static implicit operator Activation(string name) => Get(name);

    /// <summary>The name.</summary>
    public override string ToString() => Name;
}
