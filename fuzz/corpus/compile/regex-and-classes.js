class A { #p = 1; static s = /(?<y>\d{4})-(?<m>\d\d)/u; get p() { return this.#p; } }
console.log(new A().p, A.s.exec('2024-05').groups.y);
